package io.cloudlet.handoff;

import com.fasterxml.jackson.databind.JsonNode;
import io.cloudlet.contracts.AgentCommand;
import io.cloudlet.contracts.CloudletEvent;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;
import org.springframework.web.client.RestClient;

/**
 * Runs handoffs, each on its own thread: destination checks, receiving server, the command to the
 * source agent, then the agent's outcome. The destination token is held by that thread only.
 * A handoff that fails before the switch-over leaves the server running at the source; the
 * receiving server at the destination is deleted.
 */
@Component
class Orchestrator implements DisposableBean {

    /** A request to hand a server off, from the synthesis service. */
    record Start(String handoffId, String serverId, String projectId, String hostId, String baseId, String flavorId,
                 List<Integer> guestPorts, String handoffUrl, String destToken, String destVmName,
                 long linkBytesPerSecond) {

        @Override
        public String toString() {
            return "Start[" + handoffId + ", server " + serverId + " to " + handoffUrl + "]";
        }
    }

    private static final Logger log = LoggerFactory.getLogger(Orchestrator.class);

    private final HandoffRepository handoffs;
    private final Messaging messaging;
    private final TransactionTemplate transactions;
    private final RestClient.Builder rest;
    private final HandoffProperties properties;
    private final Map<UUID, CompletableFuture<CloudletEvent>> outcomes = new ConcurrentHashMap<>();
    private final ExecutorService workers = Executors.newCachedThreadPool(runnable -> {
        Thread thread = new Thread(runnable, "handoff");
        thread.setDaemon(true);
        return thread;
    });

    Orchestrator(HandoffRepository handoffs, Messaging messaging, TransactionTemplate transactions,
                 RestClient.Builder rest, HandoffProperties properties) {
        this.handoffs = handoffs;
        this.messaging = messaging;
        this.transactions = transactions;
        this.rest = rest;
        this.properties = properties;
    }

    /** Records and starts a handoff; a known id for the same server returns that handoff and starts nothing. */
    HandoffRecord start(Start start) {
        UUID id = parse(start.handoffId());
        HandoffRecord record = transactions.execute(status -> {
            var known = handoffs.findById(id);
            if (known.isPresent()) {
                if (!known.get().serverId.equals(start.serverId())) {
                    throw new ApiException(HttpStatus.CONFLICT, "Handoff " + id + " is of another server.");
                }
                return known.get();
            }
            return handoffs.save(new HandoffRecord(id, start.serverId(), start.projectId(), start.hostId(),
                    start.handoffUrl(), start.destVmName(), Instant.now()));
        });
        // A record still checking with no thread on it is new; a concurrent duplicate finds the thread.
        if (record.state == HandoffRecord.State.CHECKING && outcomes.putIfAbsent(id, new CompletableFuture<>()) == null) {
            workers.submit(() -> run(start, id));
        }
        return record;
    }

    private void run(Start start, UUID id) {
        MDC.put("server_id", start.serverId());
        MDC.put("handoff_id", id.toString());
        Destination destination = new Destination(rest, start.handoffUrl(), start.destToken());
        String receiving = null;
        try {
            String image = destination.baseImage(start.baseId());
            destination.checkFlavor(start.flavorId());
            update(id, HandoffRecord.State.PREPARING, "preparing destination", 5, null);
            Destination.Receiving created = destination.createReceiving(start.destVmName(), image,
                    start.flavorId(), start.guestPorts());
            receiving = created.serverId();
            update(id, HandoffRecord.State.PREPARING, "preparing destination", 8, receiving);
            String endpoint = awaitEndpoint(destination, receiving);
            update(id, HandoffRecord.State.STREAMING, "streaming", 10, null);
            messaging.send(start.hostId(), new AgentCommand.HandOffServer(UUID.randomUUID().toString(),
                    Instant.now(), start.serverId(), id.toString(), Destination.endpointHost(endpoint),
                    Destination.endpointPort(endpoint), created.ticket(), start.linkBytesPerSecond()));
            CloudletEvent outcome = outcomes.get(id).get(properties.transferTimeout().toMillis(),
                    TimeUnit.MILLISECONDS);
            if (outcome instanceof CloudletEvent.HandoffFailed) {
                cleanUp(destination, receiving);
            } else {
                log.info("handoff {} of server {} completed; it runs as server {} at {}", id, start.serverId(),
                        receiving, start.handoffUrl());
            }
        } catch (TimeoutException e) {
            fail(start, id, "The source agent reported no outcome within " + properties.transferTimeout() + ".");
            cleanUp(destination, receiving);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail(start, id, "The handoff service stopped during the handoff.");
        } catch (java.util.concurrent.ExecutionException | RuntimeException e) {
            fail(start, id, e.getMessage() == null ? e.toString() : e.getMessage());
            cleanUp(destination, receiving);
        } finally {
            outcomes.remove(id);
            MDC.remove("server_id");
            MDC.remove("handoff_id");
        }
    }

    /** Waits until the receiving server's agent listens, and returns where. */
    private String awaitEndpoint(Destination destination, String serverId) throws InterruptedException {
        long deadline = System.nanoTime() + properties.prepareTimeout().toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode server = destination.server(serverId);
            String endpoint = server.path("cloudlet:handoff_endpoint").asText(null);
            if (endpoint != null && !endpoint.isBlank()) {
                return endpoint;
            }
            if ("ERROR".equals(server.path("status").asText())) {
                throw new Destination.Refused("The destination could not prepare a receiving server: "
                        + server.path("fault").path("message").asText("no reason given"));
            }
            Thread.sleep(200);
        }
        throw new Destination.Refused("The destination did not get ready to receive within "
                + properties.prepareTimeout() + ".");
    }

    /** Applies an agent's handoff event to its handoff. */
    void on(CloudletEvent event) {
        transactions.executeWithoutResult(status -> {
            if (handoffs.markProcessed(event.eventId()) == 0) {
                return;
            }
            Instant now = Instant.now();
            if (event instanceof CloudletEvent.HandoffProgressed p) {
                find(p.handoffId()).filter(r -> r.state == HandoffRecord.State.STREAMING).ifPresent(r -> {
                    r.progress = Math.max(r.progress, 10 + Math.max(0, Math.min(100, p.percent())) * 9 / 10);
                    r.phase = p.phase();
                    r.updatedAt = now;
                });
            } else if (event instanceof CloudletEvent.HandoffCompleted c) {
                find(c.handoffId()).filter(r -> !r.state.finished()).ifPresent(r -> {
                    r.state = HandoffRecord.State.COMPLETED;
                    r.phase = null;
                    r.progress = 100;
                    r.bytes = c.bytes();
                    r.passes = c.passes();
                    r.totalMillis = c.totalMillis();
                    r.downtimeMillis = c.downtimeMillis();
                    r.updatedAt = now;
                });
            } else if (event instanceof CloudletEvent.HandoffFailed f) {
                find(f.handoffId()).filter(r -> !r.state.finished()).ifPresent(r -> r.fail(f.message(), now));
            }
        });
        String handoffId = event instanceof CloudletEvent.HandoffCompleted c ? c.handoffId()
                : event instanceof CloudletEvent.HandoffFailed f ? f.handoffId() : null;
        if (handoffId != null) {
            CompletableFuture<CloudletEvent> outcome = outcomes.get(parse(handoffId));
            if (outcome != null) {
                outcome.complete(event);
            }
        }
    }

    /** Handoffs that a restart cut short before the source agent was involved have failed; the server ran on. */
    @EventListener(ApplicationReadyEvent.class)
    void failInterrupted() {
        List<HandoffRecord> interrupted = handoffs.findByStateIn(EnumSet.of(HandoffRecord.State.CHECKING,
                HandoffRecord.State.PREPARING));
        for (HandoffRecord record : interrupted) {
            fail(record.serverId, record.id, "The handoff service restarted before the transfer began; "
                    + "any receiving server at the destination expires there.");
        }
    }

    private void fail(Start start, UUID id, String message) {
        fail(start.serverId(), id, message);
    }

    private void fail(String serverId, UUID id, String message) {
        log.warn("handoff {} of server {} failed: {}", id, serverId, message);
        transactions.executeWithoutResult(status -> handoffs.findById(id).filter(r -> !r.state.finished())
                .ifPresent(r -> r.fail(message, Instant.now())));
        try {
            messaging.publish(new CloudletEvent.HandoffFailed(UUID.randomUUID().toString(), Instant.now(), serverId,
                    id.toString(), message));
        } catch (RuntimeException e) {
            log.warn("could not report the failure of handoff {}: {}", id, e.getMessage());
        }
    }

    private void cleanUp(Destination destination, String receiving) {
        if (receiving == null) {
            return;
        }
        try {
            destination.delete(receiving);
        } catch (Destination.Refused e) {
            log.warn("receiving server {} could not be deleted at the destination: {}", receiving, e.getMessage());
        }
    }

    private void update(UUID id, HandoffRecord.State state, String phase, int progress, String destinationServerId) {
        transactions.executeWithoutResult(status -> handoffs.findById(id).filter(r -> !r.state.finished())
                .ifPresent(r -> {
                    r.state = state;
                    r.phase = phase;
                    r.progress = progress;
                    if (destinationServerId != null) {
                        r.destinationServerId = destinationServerId;
                    }
                    r.updatedAt = Instant.now();
                }));
    }

    private java.util.Optional<HandoffRecord> find(String id) {
        try {
            return handoffs.findById(UUID.fromString(id));
        } catch (IllegalArgumentException e) {
            return java.util.Optional.empty();
        }
    }

    private static UUID parse(String id) {
        try {
            return UUID.fromString(id);
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "A handoff id is a UUID.");
        }
    }

    @Override
    public void destroy() {
        workers.shutdownNow();
    }
}
