package io.cloudlet.synthesis.messaging;

import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.Modifying;
import org.springframework.data.jpa.repository.Query;
import org.springframework.transaction.annotation.Transactional;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

interface OutboxRepository extends JpaRepository<OutboxMessage, UUID> {

    List<OutboxMessage> findTop100ByPublishedAtIsNullOrderByCreatedAtAsc();

    @Modifying
    @Transactional
    @Query("update OutboxMessage m set m.publishedAt = :at where m.id = :id")
    void markPublished(UUID id, Instant at);

    @Modifying
    @Transactional
    @Query("delete from OutboxMessage m where m.publishedAt < :before")
    int deletePublishedBefore(Instant before);
}
