package io.cloudlet.agent.hypervisor;

import io.cloudlet.agent.AgentException;

/** A hypervisor operation failed; the message says which and why in one line. */
public class HypervisorException extends AgentException {

    public HypervisorException(Reason reason, String message) {
        super(reason, message);
    }

    public HypervisorException(String message, Throwable cause) {
        super(Reason.FAILED, message, cause);
    }
}
