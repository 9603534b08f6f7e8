package io.cloudlet.image.catalog;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

import java.time.Instant;
import java.util.UUID;

/** One Glance-shaped image: a component of a base VM or an overlay. */
@Entity
@Table(name = "image")
class ImageRecord {

    enum Status { queued, saving, active }

    @Id
    UUID id;
    String name;
    String owner;
    String visibility;
    /** {@link CloudletType#wireName()}. */
    @Column(name = "cloudlet_type")
    String cloudletType;
    @Column(name = "base_id")
    String baseId;
    @Enumerated(EnumType.STRING)
    Status status;
    Long size;
    @Column(name = "blob_sha256")
    String blobSha256;
    @Column(name = "created_at")
    Instant createdAt;
    @Column(name = "updated_at")
    Instant updatedAt;

    protected ImageRecord() {
    }

    ImageRecord(UUID id, String name, String owner, String visibility, CloudletType type, String baseId,
                Status status, Long size, String blobSha256, Instant now) {
        this.id = id;
        this.name = name;
        this.owner = owner;
        this.visibility = visibility;
        this.cloudletType = type.wireName();
        this.baseId = baseId;
        this.status = status;
        this.size = size;
        this.blobSha256 = blobSha256;
        this.createdAt = now;
        this.updatedAt = now;
    }

    CloudletType type() {
        return CloudletType.parse(cloudletType).orElseThrow();
    }
}
