package io.cloudlet.synthesis.messaging;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

import java.time.Instant;
import java.util.UUID;

/** A message waiting to be published (or published, with the time). */
@Entity
@Table(name = "outbox")
class OutboxMessage {

    @Id
    UUID id;
    String binding;
    @Column(name = "routing_key")
    String routingKey;
    String payload;
    @Column(name = "created_at")
    Instant createdAt;
    @Column(name = "published_at")
    Instant publishedAt;

    protected OutboxMessage() {
    }

    OutboxMessage(UUID id, String binding, String routingKey, String payload, Instant createdAt) {
        this.id = id;
        this.binding = binding;
        this.routingKey = routingKey;
        this.payload = payload;
        this.createdAt = createdAt;
    }
}
