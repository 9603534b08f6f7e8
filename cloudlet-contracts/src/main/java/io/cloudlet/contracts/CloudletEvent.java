package io.cloudlet.contracts;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

import java.time.Instant;
import java.util.List;

/** Something that happened, named in the past tense; consumers deduplicate on {@link #eventId()}. */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
        @JsonSubTypes.Type(value = CloudletEvent.AgentHeartbeat.class, name = "AgentHeartbeat"),
        @JsonSubTypes.Type(value = CloudletEvent.ServerProgressed.class, name = "ServerProgressed"),
        @JsonSubTypes.Type(value = CloudletEvent.ServerLaunched.class, name = "ServerLaunched"),
        @JsonSubTypes.Type(value = CloudletEvent.ServerFailed.class, name = "ServerFailed"),
        @JsonSubTypes.Type(value = CloudletEvent.ServerTerminated.class, name = "ServerTerminated"),
        @JsonSubTypes.Type(value = CloudletEvent.OverlayCreated.class, name = "OverlayCreated"),
        @JsonSubTypes.Type(value = CloudletEvent.OverlayFailed.class, name = "OverlayFailed"),
        @JsonSubTypes.Type(value = CloudletEvent.HandoffListening.class, name = "HandoffListening"),
        @JsonSubTypes.Type(value = CloudletEvent.HandoffProgressed.class, name = "HandoffProgressed"),
        @JsonSubTypes.Type(value = CloudletEvent.HandoffCompleted.class, name = "HandoffCompleted"),
        @JsonSubTypes.Type(value = CloudletEvent.HandoffFailed.class, name = "HandoffFailed")
})
public sealed interface CloudletEvent {

    String eventId();

    Instant occurredAt();

    /**
     * An agent is alive; sent periodically and whenever its instances change. It is the agent's
     * whole observed state, so a consumer that missed events catches up from the next one.
     *
     * @param hostId        the agent's host id (its command routing key)
     * @param address       host address at which forwarded guest ports are reachable
     * @param vcpus         host CPUs
     * @param memoryMib     host RAM
     * @param freeMemoryMib RAM not promised to instances
     * @param freePorts     host ports left in the agent's forwarding range
     * @param baseIds       base VMs the agent caches
     * @param instances     the servers it runs
     */
    record AgentHeartbeat(String eventId, Instant occurredAt, String hostId, String address, int vcpus,
                          long memoryMib, long freeMemoryMib, int freePorts, List<String> baseIds,
                          List<InstanceState> instances) implements CloudletEvent {
    }

    /** A server an agent runs, as the hypervisor reports it ({@code running}, {@code paused}, ...). */
    record InstanceState(String serverId, String state) {
    }

    /** A long operation on a server moved on: {@code phase} and 0-100 (or -1 when unknown). */
    record ServerProgressed(String eventId, Instant occurredAt, String serverId, String hostId, String phase,
                            int percent) implements CloudletEvent {
    }

    /**
     * A server runs: synthesised or resumed, its guest ports forwarded.
     *
     * @param ports       guest port to host port
     * @param launchMillis time the agent took, fetch to resumed
     */
    record ServerLaunched(String eventId, Instant occurredAt, String serverId, String hostId, String address,
                          List<PortMapping> ports, long launchMillis) implements CloudletEvent {
    }

    /** A forwarded port: {@code address:hostPort} reaches the guest's {@code guestPort}. */
    record PortMapping(int guestPort, int hostPort) {
    }

    /** A server could not be launched; nothing of it is left on the agent. */
    record ServerFailed(String eventId, Instant occurredAt, String serverId, String hostId, String reason,
                        String message) implements CloudletEvent {
    }

    /** A server's VM and files are gone from its agent. */
    record ServerTerminated(String eventId, Instant occurredAt, String serverId, String hostId)
            implements CloudletEvent {
    }

    /** An overlay of a server was created and uploaded as image {@code imageId}. */
    record OverlayCreated(String eventId, Instant occurredAt, String serverId, String imageId, long bytes,
                          String baseId) implements CloudletEvent {
    }

    /** Creating or uploading an overlay failed; the server runs on. */
    record OverlayFailed(String eventId, Instant occurredAt, String serverId, String imageId, String message)
            implements CloudletEvent {
    }

    /** A receiving agent listens for the handoff of server {@code serverId} at {@code address:port}. */
    record HandoffListening(String eventId, Instant occurredAt, String serverId, String hostId, String address,
                            int port) implements CloudletEvent {
    }

    /** A handoff moved on: {@code phase} ({@code pass 1}, {@code final pass}...) and 0-100. */
    record HandoffProgressed(String eventId, Instant occurredAt, String serverId, String handoffId, String phase,
                             int percent) implements CloudletEvent {
    }

    /**
     * A server was handed off: it runs at the destination and is gone here.
     *
     * @param bytes          bytes sent
     * @param passes         passes, the paused one included
     * @param totalMillis    connect to the destination's answer
     * @param downtimeMillis paused here to running there
     */
    record HandoffCompleted(String eventId, Instant occurredAt, String serverId, String handoffId, long bytes,
                            int passes, long totalMillis, long downtimeMillis) implements CloudletEvent {
    }

    /** A handoff failed before the switch-over: the server runs on here. */
    record HandoffFailed(String eventId, Instant occurredAt, String serverId, String handoffId, String message)
            implements CloudletEvent {
    }
}
