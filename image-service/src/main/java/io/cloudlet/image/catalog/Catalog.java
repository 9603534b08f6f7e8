package io.cloudlet.image.catalog;

import io.cloudlet.image.blob.BlobStore;
import io.cloudlet.image.web.ApiException;
import io.cloudlet.image.web.Caller;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.data.domain.Sort;
import org.springframework.http.HttpStatus;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionTemplate;

import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/** Reads and changes the catalogue; the rules of who sees and changes which image live here. */
@Service
class Catalog {

    private static final Logger log = LoggerFactory.getLogger(Catalog.class);

    private final ImageRepository images;
    private final BaseVmRepository bases;
    private final BlobStore blobs;
    private final TransactionTemplate transactions;
    private final JdbcTemplate jdbc;
    private final Clock clock;

    Catalog(ImageRepository images, BaseVmRepository bases, BlobStore blobs, TransactionTemplate transactions,
            JdbcTemplate jdbc) {
        this.jdbc = jdbc;
        this.images = images;
        this.bases = bases;
        this.blobs = blobs;
        this.transactions = transactions;
        this.clock = Clock.systemUTC();
    }

    Optional<BaseVmRecord> base(String baseId) {
        return bases.findById(baseId);
    }

    List<BaseVmRecord> bases() {
        return bases.findAll(Sort.by("name"));
    }

    BaseVmRecord requireBase(String baseId) {
        return bases.findById(baseId).orElseThrow(() ->
                new ApiException(HttpStatus.NOT_FOUND, "there is no base VM " + baseId));
    }

    /**
     * Registers an imported base VM with a public image record per component. A concurrent import
     * of the same base VM wins quietly; another base VM under the same name is a conflict.
     */
    BaseVmRecord register(BaseVmRecord record) {
        try {
            return transactions.execute(status -> {
                bases.findByName(record.name).ifPresent(other -> {
                    throw new ApiException(HttpStatus.CONFLICT, "a different base VM named '" + record.name
                            + "' exists already (" + other.baseId + ")");
                });
                BaseVmRecord saved = bases.save(record);
                Instant now = clock.instant();
                for (CloudletType type : List.of(CloudletType.BASE_DISK, CloudletType.BASE_MEMORY,
                        CloudletType.DISK_HASH, CloudletType.MEMORY_HASH)) {
                    BaseMember member = record.members.stream().filter(m -> m.name().equals(type.member))
                            .findFirst().orElseThrow();
                    images.save(new ImageRecord(UUID.randomUUID(), record.name + "-" + type.wireName(), "cloudlet",
                            "public", type, record.baseId, ImageRecord.Status.active, member.size,
                            member.blobSha256, now));
                }
                return saved;
            });
        } catch (DataIntegrityViolationException raced) {
            return bases.findById(record.baseId).orElseThrow(() -> raced);
        }
    }

    /** Fails with 409 if another base VM than {@code baseId} is registered under {@code name}. */
    void checkNameFree(String name, String baseId) {
        bases.findByName(name).filter(other -> !other.baseId.equals(baseId)).ifPresent(other -> {
            throw new ApiException(HttpStatus.CONFLICT, "a different base VM named '" + name
                    + "' exists already (" + other.baseId + ")");
        });
    }

    /** Removes blobs that no base VM member and no image refers to (after a failed registration). */
    void deleteUnreferencedBlobs(List<String> candidates) {
        for (String sha : candidates) {
            Integer references = jdbc.queryForObject("select (select count(*) from base_member where blob_sha256 = ?)"
                    + " + (select count(*) from image where blob_sha256 = ?)", Integer.class, sha, sha);
            if (references != null && references == 0) {
                try {
                    blobs.delete(sha);
                } catch (IOException e) {
                    log.warn("could not remove blob {}: {}", sha,
                            e.getMessage());
                }
            }
        }
    }

    /** Images the caller may see: public ones and its project's own (all of them for admins). */
    List<ImageRecord> visibleImages(Caller caller) {
        return images.findAllByOrderByCreatedAtAsc().stream().filter(i -> visible(i, caller)).toList();
    }

    /** Image {@code id} if the caller may see it; 404 otherwise, as if it did not exist. */
    ImageRecord visibleImage(String id, Caller caller) {
        UUID uuid;
        try {
            uuid = UUID.fromString(id);
        } catch (IllegalArgumentException e) {
            throw new ApiException(HttpStatus.NOT_FOUND, "there is no image " + id);
        }
        return images.findById(uuid).filter(i -> visible(i, caller))
                .orElseThrow(() -> new ApiException(HttpStatus.NOT_FOUND, "there is no image " + id));
    }

    private static boolean visible(ImageRecord image, Caller caller) {
        return "public".equals(image.visibility) || image.owner.equals(caller.projectId()) || caller.seesEverything();
    }

    /** Registers an overlay image with no data yet (status queued), owned by the caller's project. */
    @Transactional
    ImageRecord createOverlay(String name, Caller caller) {
        return images.save(new ImageRecord(UUID.randomUUID(), name, caller.projectId(), "private",
                CloudletType.OVERLAY, null, ImageRecord.Status.queued, null, null, clock.instant()));
    }

    /** Marks a queued overlay as receiving data; fails with 409 if it has data or an upload runs. */
    @Transactional
    void beginUpload(ImageRecord image) {
        if (image.type() != CloudletType.OVERLAY) {
            throw new ApiException(HttpStatus.CONFLICT, "image " + image.id
                    + " is part of a base VM; base VMs are imported as packages");
        }
        if (images.transition(image.id, ImageRecord.Status.queued, ImageRecord.Status.saving, clock.instant()) == 0) {
            throw new ApiException(HttpStatus.CONFLICT, "image " + image.id + " has data already or is receiving it");
        }
    }

    /** Returns an overlay whose upload failed to status queued, so the upload can be retried. */
    @Transactional
    void abortUpload(UUID id) {
        images.transition(id, ImageRecord.Status.saving, ImageRecord.Status.queued, clock.instant());
    }

    @Transactional
    ImageRecord completeUpload(UUID id, String baseId, BlobStore.Blob blob) {
        ImageRecord image = images.findById(id).orElseThrow();
        image.status = ImageRecord.Status.active;
        image.baseId = baseId;
        image.size = blob.size();
        image.blobSha256 = blob.sha256();
        image.updatedAt = clock.instant();
        return image;
    }

    /** Deletes an overlay (its blob too, unless another image holds the same content). */
    void deleteOverlay(ImageRecord image, Caller caller) throws IOException {
        if (image.type() != CloudletType.OVERLAY) {
            throw new ApiException(HttpStatus.CONFLICT, "image " + image.id + " is part of base VM " + image.baseId
                    + " and goes only with it");
        }
        if (!image.owner.equals(caller.projectId()) && !caller.isAdmin()) {
            throw new ApiException(HttpStatus.FORBIDDEN, "image " + image.id + " belongs to another project");
        }
        String blob = transactions.execute(status -> {
            images.deleteById(image.id);
            return image.blobSha256 != null && images.countByBlobSha256(image.blobSha256) == 0
                    ? image.blobSha256 : null;
        });
        if (blob != null) {
            blobs.delete(blob);
        }
    }
}
