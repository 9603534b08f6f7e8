package io.cloudlet.image.catalog;

import jakarta.persistence.Column;
import jakarta.persistence.Embeddable;
import jakarta.persistence.EmbeddedId;
import jakarta.persistence.Entity;
import jakarta.persistence.Table;

import java.io.Serializable;

/** One file of a base VM package, stored as a blob. */
@Entity
@Table(name = "base_member")
class BaseMember {

    @Embeddable
    record Key(@Column(name = "base_id") String baseId, String name) implements Serializable {
    }

    @EmbeddedId
    Key key;
    int position;
    @Column(name = "blob_sha256")
    String blobSha256;
    long size;
    long crc32;

    protected BaseMember() {
    }

    BaseMember(String baseId, String name, int position, String blobSha256, long size, long crc32) {
        this.key = new Key(baseId, name);
        this.position = position;
        this.blobSha256 = blobSha256;
        this.size = size;
        this.crc32 = crc32;
    }

    String name() {
        return key.name();
    }
}
