package io.cloudlet.contracts;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

import java.time.Instant;
import java.util.List;

/** Work for one compute agent. Every command carries an id the agent deduplicates on. */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
        @JsonSubTypes.Type(value = AgentCommand.LaunchServer.class, name = "LaunchServer"),
        @JsonSubTypes.Type(value = AgentCommand.CreateOverlay.class, name = "CreateOverlay"),
        @JsonSubTypes.Type(value = AgentCommand.TerminateServer.class, name = "TerminateServer"),
        @JsonSubTypes.Type(value = AgentCommand.ReceiveServer.class, name = "ReceiveServer"),
        @JsonSubTypes.Type(value = AgentCommand.HandOffServer.class, name = "HandOffServer")
})
public sealed interface AgentCommand {

    String commandId();

    Instant issuedAt();

    String serverId();

    /**
     * Start a server: synthesise it from the overlay at {@code overlayUrl}, or resume the base VM
     * when {@code overlayUrl} is null.
     *
     * @param guestPorts guest TCP ports to forward from free host ports
     */
    record LaunchServer(String commandId, Instant issuedAt, String serverId, String projectId, BaseRef base,
                        String overlayUrl, List<Integer> guestPorts) implements AgentCommand {
    }

    /**
     * Create the overlay of a running server against its base VM and upload it with HTTP PUT to
     * {@code uploadUrl} (the image-service's file endpoint of image {@code imageId}).
     */
    record CreateOverlay(String commandId, Instant issuedAt, String serverId, String projectId, String imageId,
                         String uploadUrl, String codec) implements AgentCommand {
    }

    /** Stop the server's VM and remove its files; a server that is gone already counts as done. */
    record TerminateServer(String commandId, Instant issuedAt, String serverId) implements AgentCommand {
    }

    /**
     * Make ready to receive a handed-off server running on base VM {@code base}: listen for one
     * handoff connection whose ticket has SHA-256 {@code ticketSha256} (hex), and report where
     * with {@link CloudletEvent.HandoffListening}. The outcome is {@link CloudletEvent.ServerLaunched}
     * or {@link CloudletEvent.ServerFailed}.
     */
    record ReceiveServer(String commandId, Instant issuedAt, String serverId, String projectId, BaseRef base,
                         List<Integer> guestPorts, String ticketSha256) implements AgentCommand {
    }

    /**
     * Hand running server {@code serverId} off to the receiving agent at {@code address:port},
     * presenting the one-time {@code ticket}; the outcome is {@link CloudletEvent.HandoffCompleted}
     * (the server is then gone here) or {@link CloudletEvent.HandoffFailed} (it runs on here).
     *
     * @param linkBytesPerSecond when positive, the most the agent sends per second
     */
    record HandOffServer(String commandId, Instant issuedAt, String serverId, String handoffId, String address,
                         int port, String ticket, long linkBytesPerSecond) implements AgentCommand {
    }
}
