package io.cloudlet.synthesis.nova;

/**
 * A refused request in Nova's terms: HTTP status, the fault key ({@code itemNotFound},
 * {@code badRequest}, {@code conflictingRequest}, ...) and a message.
 */
public class NovaException extends RuntimeException {

    private final int status;
    private final String key;

    public NovaException(int status, String key, String message) {
        super(message);
        this.status = status;
        this.key = key;
    }

    public static NovaException notFound(String message) {
        return new NovaException(404, "itemNotFound", message);
    }

    public static NovaException badRequest(String message) {
        return new NovaException(400, "badRequest", message);
    }

    public static NovaException conflict(String message) {
        return new NovaException(409, "conflictingRequest", message);
    }

    public int status() {
        return status;
    }

    public String key() {
        return key;
    }
}
