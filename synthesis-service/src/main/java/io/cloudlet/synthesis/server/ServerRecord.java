package io.cloudlet.synthesis.server;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

import java.time.Instant;
import java.util.UUID;

/** A server: what was asked for, where it was placed and what its agent last reported. */
@Entity
@Table(name = "server")
public class ServerRecord {

    /** Nova's server statuses, as far as cloudlets have them. */
    public enum Status { BUILD, ACTIVE, ERROR, DELETED }

    @Id
    UUID id;
    @Column(name = "project_id")
    String projectId;
    @Column(name = "user_id")
    String userId;
    String name;
    @jakarta.persistence.Enumerated(jakarta.persistence.EnumType.STRING)
    Status status;
    @Column(name = "task_state")
    String taskState;
    int progress;
    /** Phase of the running operation as the agent last reported it, or null. */
    String phase;
    @Column(name = "image_ref")
    String imageRef;
    @Column(name = "flavor_id")
    String flavorId;
    @Column(name = "base_id")
    String baseId;
    @Column(name = "memory_mib")
    int memoryMib;
    @Column(name = "overlay_url")
    String overlayUrl;
    /** User metadata as a JSON object. */
    String metadata;
    /** Comma-separated guest ports to forward. */
    @Column(name = "guest_ports")
    String guestPorts;
    @Column(name = "host_id")
    String hostId;
    String address;
    /** Forwarded ports as JSON: [{"guest_port":80,"host_port":20001}]. */
    String ports;
    String fault;
    @Column(name = "last_overlay_id")
    String lastOverlayId;
    /** A server receiving a handoff: where its agent listens for the sender, {@code host:port}. */
    @Column(name = "handoff_endpoint")
    String handoffEndpoint;
    /** The handoff this server is the source of, while it runs or after it failed. */
    @Column(name = "handoff_id")
    String handoffId;
    /** After a completed handoff: the destination API and server id. */
    @Column(name = "handed_off_to")
    String handedOffTo;
    @Column(name = "created_at")
    Instant createdAt;
    @Column(name = "updated_at")
    Instant updatedAt;
    @Column(name = "terminate_sent_at")
    Instant terminateSentAt;

    protected ServerRecord() {
    }

    ServerRecord(UUID id, String projectId, String userId, String name, String imageRef, String flavorId,
                 String baseId, int memoryMib, String overlayUrl, String metadata, String guestPorts, String hostId,
                 Instant now) {
        this.id = id;
        this.projectId = projectId;
        this.userId = userId;
        this.name = name;
        this.status = Status.BUILD;
        this.taskState = "scheduling";
        this.imageRef = imageRef;
        this.flavorId = flavorId;
        this.baseId = baseId;
        this.memoryMib = memoryMib;
        this.overlayUrl = overlayUrl;
        this.metadata = metadata;
        this.guestPorts = guestPorts;
        this.hostId = hostId;
        this.createdAt = now;
        this.updatedAt = now;
    }

    void fail(String message, Instant now) {
        status = Status.ERROR;
        taskState = null;
        phase = null;
        fault = message;
        updatedAt = now;
    }
}
