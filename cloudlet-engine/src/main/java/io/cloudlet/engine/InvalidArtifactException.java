package io.cloudlet.engine;

import java.io.IOException;

/**
 * An input artifact (base VM package, overlay, image) is malformed, corrupt or does not belong
 * with the other inputs. The message names the artifact and the problem; callers map it to a
 * client error, never to a server fault.
 */
public class InvalidArtifactException extends IOException {

    public InvalidArtifactException(String message) {
        super(message);
    }

    public InvalidArtifactException(String message, Throwable cause) {
        super(message, cause);
    }
}
