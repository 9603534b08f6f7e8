package io.cloudlet.agent;

/**
 * A failed agent operation with a one-line reason that can be shown to the user as is, and a
 * {@link Reason} that callers map to an exit code or an HTTP status.
 */
public class AgentException extends RuntimeException {

    /** Why the operation failed, from the caller's point of view. */
    public enum Reason {
        /** The request is malformed or names an artifact that is not valid (HTTP 400). */
        BAD_REQUEST,
        /** A named base VM, instance or file does not exist (HTTP 404). */
        NOT_FOUND,
        /** The request clashes with existing state: a name or port in use (HTTP 409). */
        CONFLICT,
        /** This host cannot do it: CPU model, emulator or machine type mismatch (HTTP 409). */
        HOST_UNSUITABLE,
        /** The operation failed on the host (HTTP 500). */
        FAILED
    }

    private final Reason reason;

    public AgentException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public AgentException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
