package io.cloudlet.synthesis.messaging;

import io.cloudlet.contracts.Destinations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.amqp.rabbit.connection.CorrelationData;
import org.springframework.amqp.support.AmqpHeaders;
import org.springframework.cloud.stream.function.StreamBridge;
import org.springframework.messaging.Message;
import org.springframework.messaging.support.MessageBuilder;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Publishes outbox rows in order and marks each published only once the broker confirmed it (and
 * did not return it as unroutable). Runs on one thread, woken after each commit and every second.
 * A message may be published twice (crash between confirm and mark); consumers deduplicate.
 */
@Component
class OutboxRelay {

    private static final Logger log = LoggerFactory.getLogger(OutboxRelay.class);
    private static final Duration CONFIRM_TIMEOUT = Duration.ofSeconds(10);

    private final OutboxRepository messages;
    private final StreamBridge bridge;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread thread = new Thread(r, "outbox-relay");
        thread.setDaemon(true);
        return thread;
    });
    private final AtomicBoolean pending = new AtomicBoolean();

    OutboxRelay(OutboxRepository messages, StreamBridge bridge) {
        this.messages = messages;
        this.bridge = bridge;
    }

    /** Asks for a relay pass soon; passes do not pile up. */
    void kick() {
        if (pending.compareAndSet(false, true)) {
            worker.execute(() -> {
                pending.set(false);
                relay();
            });
        }
    }

    @Scheduled(fixedDelay = 1000)
    void sweep() {
        kick();
    }

    @Scheduled(fixedDelay = 3_600_000, initialDelay = 60_000)
    void prune() {
        messages.deletePublishedBefore(Instant.now().minus(Duration.ofDays(1)));
    }

    private void relay() {
        try {
            for (OutboxMessage message : messages.findTop100ByPublishedAtIsNullOrderByCreatedAtAsc()) {
                if (!publish(message)) {
                    return;
                }
                messages.markPublished(message.id, Instant.now());
            }
        } catch (RuntimeException e) {
            log.warn("outbox relay pass failed, retrying on the next sweep: {}", e.toString());
        }
    }

    private boolean publish(OutboxMessage outbox) {
        CorrelationData correlation = new CorrelationData(outbox.id.toString());
        Message<byte[]> message = MessageBuilder.withPayload(outbox.payload.getBytes(StandardCharsets.UTF_8))
                .setHeader(Destinations.HOST_HEADER, outbox.routingKey)
                .setHeader(Destinations.MESSAGE_ID_HEADER, outbox.id.toString())
                .setHeader(AmqpHeaders.PUBLISH_CONFIRM_CORRELATION, correlation)
                .setHeader("contentType", "application/json")
                .build();
        if (!bridge.send(outbox.binding, message)) {
            return false;
        }
        try {
            CorrelationData.Confirm confirm = correlation.getFuture().get(CONFIRM_TIMEOUT.toMillis(),
                    TimeUnit.MILLISECONDS);
            if (!confirm.isAck()) {
                log.warn("broker refused outbox message {}: {}", outbox.id, confirm.getReason());
                return false;
            }
            if (correlation.getReturned() != null) {
                // No queue is bound for this host id. Agents declare their queue before their first
                // heartbeat and servers are placed only on agents that sent one, so this is a host
                // that is gone for good; retrying would block every later command.
                log.warn("outbox message {} for host {} was unroutable; dropped", outbox.id, outbox.routingKey);
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException | TimeoutException e) {
            log.warn("no confirm for outbox message {}: {}", outbox.id, e.toString());
            return false;
        }
    }
}
