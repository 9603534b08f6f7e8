package io.cloudlet.image.web;

import org.springframework.http.HttpStatus;

/** A request the service refuses, with the status and the message the client sees. */
public class ApiException extends RuntimeException {

    private final HttpStatus status;

    public ApiException(HttpStatus status, String message) {
        super(message);
        this.status = status;
    }

    public HttpStatus status() {
        return status;
    }
}
