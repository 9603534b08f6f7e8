package io.cloudlet.handoff;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;
import java.util.UUID;

/** A handoff this cloudlet is the source of. */
@Entity
@Table(name = "handoff")
class HandoffRecord {

    enum State {
        /** Checking the destination: token, base VM, flavor. */
        CHECKING,
        /** The destination prepares a receiving server. */
        PREPARING,
        /** The source agent streams the VM. */
        STREAMING,
        COMPLETED,
        FAILED;

        boolean finished() {
            return this == COMPLETED || this == FAILED;
        }
    }

    @Id
    UUID id;
    @Column(name = "server_id")
    String serverId;
    @Column(name = "project_id")
    String projectId;
    @Column(name = "source_host")
    String sourceHost;
    @Column(name = "destination_url")
    String destinationUrl;
    @Column(name = "destination_name")
    String destinationName;
    @Column(name = "destination_server_id")
    String destinationServerId;
    @Enumerated(EnumType.STRING)
    State state;
    String phase;
    int progress;
    String message;
    Long bytes;
    Integer passes;
    @Column(name = "total_millis")
    Long totalMillis;
    @Column(name = "downtime_millis")
    Long downtimeMillis;
    @Column(name = "created_at")
    Instant createdAt;
    @Column(name = "updated_at")
    Instant updatedAt;

    protected HandoffRecord() {
    }

    HandoffRecord(UUID id, String serverId, String projectId, String sourceHost, String destinationUrl,
                  String destinationName, Instant now) {
        this.id = id;
        this.serverId = serverId;
        this.projectId = projectId;
        this.sourceHost = sourceHost;
        this.destinationUrl = destinationUrl;
        this.destinationName = destinationName;
        this.state = State.CHECKING;
        this.phase = "checking destination";
        this.createdAt = now;
        this.updatedAt = now;
    }

    void fail(String why, Instant now) {
        state = State.FAILED;
        phase = null;
        message = why;
        updatedAt = now;
    }
}
