package io.cloudlet.engine.handoff;

import java.io.IOException;

/** A handoff could not go on: the peer refused, gave up or went away. The message says which. */
public class HandoffException extends IOException {

    public HandoffException(String message) {
        super(message);
    }

    public HandoffException(String message, Throwable cause) {
        super(message, cause);
    }
}
