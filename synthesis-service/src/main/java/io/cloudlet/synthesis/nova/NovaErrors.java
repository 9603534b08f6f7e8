package io.cloudlet.synthesis.nova;

import io.cloudlet.synthesis.images.ImageClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;

import java.util.Map;

/**
 * Errors in Nova's JSON shape, {@code {"itemNotFound": {"code": 404, "message": "..."}}}, for
 * refusals and for Spring's own errors (malformed JSON, wrong method, unknown path); never a stack trace.
 */
@RestControllerAdvice
class NovaErrors extends ResponseEntityExceptionHandler {

    private static final Logger log = LoggerFactory.getLogger(NovaErrors.class);

    static ResponseEntity<Object> body(int status, String key, String message) {
        return ResponseEntity.status(status).body(Map.of(key, Map.of("code", status, "message", message)));
    }

    @ExceptionHandler(NovaException.class)
    ResponseEntity<Object> refused(NovaException e) {
        return body(e.status(), e.key(), e.getMessage());
    }

    @ExceptionHandler(ImageClient.Unavailable.class)
    ResponseEntity<Object> imageServiceDown(ImageClient.Unavailable e) {
        log.warn("image service unavailable: {}", e.getMessage());
        return body(503, "serviceUnavailable", "The image service is unavailable; try again later.");
    }

    @ExceptionHandler(Exception.class)
    ResponseEntity<Object> failed(Exception e) {
        log.error("request failed", e);
        return body(500, "computeFault", "The server has either erred or is incapable of performing the "
                + "requested operation (" + e.getClass().getSimpleName() + ").");
    }

    @Override
    protected ResponseEntity<Object> handleExceptionInternal(Exception ex, Object body, HttpHeaders headers,
                                                             HttpStatusCode status, WebRequest request) {
        int code = status.value();
        String key = switch (code) {
            case 400 -> "badRequest";
            case 404 -> "itemNotFound";
            case 405 -> "methodNotAllowed";
            case 409 -> "conflictingRequest";
            case 415 -> "badMediaType";
            default -> code >= 500 ? "computeFault" : "badRequest";
        };
        String message = code == 400 && ex instanceof org.springframework.http.converter.HttpMessageNotReadableException
                ? "Malformed request body: the body is not valid JSON or has fields of the wrong type."
                : ex.getMessage();
        return body(code, key, message);
    }
}
