package io.cloudlet.contracts;

/** Exchange names and the header that routes commands to one agent. */
public final class Destinations {

    /** Topic exchange of {@link AgentCommand}s; the routing key is the target agent's host id. */
    public static final String AGENT_COMMANDS = "cloudlet.agent-commands";

    /** Topic exchange of {@link CloudletEvent}s; the routing key is the event's type name. */
    public static final String EVENTS = "cloudlet.events";

    /** Message header carrying the host id a command is for (used as its routing key). */
    public static final String HOST_HEADER = "cloudlet-host";

    /** Message header carrying the message's id, which consumers deduplicate on. */
    public static final String MESSAGE_ID_HEADER = "cloudlet-message-id";

    private Destinations() {
    }
}
