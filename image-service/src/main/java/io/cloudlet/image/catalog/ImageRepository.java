package io.cloudlet.image.catalog;

import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.Modifying;
import org.springframework.data.jpa.repository.Query;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

interface ImageRepository extends JpaRepository<ImageRecord, UUID> {

    List<ImageRecord> findAllByOrderByCreatedAtAsc();

    List<ImageRecord> findByBaseId(String baseId);

    long countByBlobSha256(String blobSha256);

    /** Moves an image from {@code from} to {@code to} only if nobody else did; returns rows changed. */
    @Modifying
    @Query("update ImageRecord i set i.status = :to, i.updatedAt = :now where i.id = :id and i.status = :from")
    int transition(UUID id, ImageRecord.Status from, ImageRecord.Status to, Instant now);
}
