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
        @JsonSubTypes.Type(value = AgentCommand.TerminateServer.class, name = "TerminateServer")
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
}
