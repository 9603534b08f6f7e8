package io.cloudlet.synthesis.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cloudlet.contracts.AgentCommand;
import io.cloudlet.contracts.CloudletEvent;
import io.cloudlet.synthesis.SynthesisProperties;
import io.cloudlet.synthesis.agent.AgentRecord;
import io.cloudlet.synthesis.agent.AgentRepository;
import io.cloudlet.synthesis.images.ImageClient;
import io.cloudlet.synthesis.messaging.Outbox;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Propagation;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

/**
 * Moves servers along as agents report: progress, launched, failed, terminated, overlay done. A
 * heartbeat is the agent's whole state, so it also repairs what lost messages or crashes left:
 * an ACTIVE server its agent no longer runs goes to ERROR; an instance nobody wants is terminated.
 */
@Service
public class ServerLifecycle {

    private static final Logger log = LoggerFactory.getLogger(ServerLifecycle.class);
    private static final Duration GRACE = Duration.ofSeconds(5);
    private static final Duration TERMINATE_RETRY = Duration.ofSeconds(30);
    private static final Duration BUILD_TIMEOUT = Duration.ofMinutes(15);

    private final ServerRepository servers;
    private final AgentRepository agents;
    private final Outbox outbox;
    private final ObjectMapper json;
    private final SynthesisProperties properties;
    private final ImageClient images;

    ServerLifecycle(ServerRepository servers, AgentRepository agents, Outbox outbox, ObjectMapper json,
                    SynthesisProperties properties, ImageClient images) {
        this.images = images;
        this.servers = servers;
        this.agents = agents;
        this.outbox = outbox;
        this.json = json;
        this.properties = properties;
    }

    /** Applies one event; runs in the consumer's transaction. */
    @Transactional(propagation = Propagation.MANDATORY)
    public void on(CloudletEvent event) {
        Instant now = Instant.now();
        if (event instanceof CloudletEvent.AgentHeartbeat beat) {
            heartbeat(beat, now);
        } else if (event instanceof CloudletEvent.ServerProgressed p) {
            server(p.serverId()).ifPresent(s -> {
                if (s.status == ServerRecord.Status.BUILD || s.taskState != null) {
                    s.progress = Math.max(0, Math.min(100, p.percent()));
                    s.phase = p.phase();
                    if (s.status == ServerRecord.Status.BUILD) {
                        s.taskState = "spawning";
                    }
                    s.updatedAt = now;
                }
            });
        } else if (event instanceof CloudletEvent.ServerLaunched l) {
            server(l.serverId()).ifPresent(s -> {
                if (s.status == ServerRecord.Status.BUILD) {
                    s.status = ServerRecord.Status.ACTIVE;
                    s.taskState = null;
                    s.progress = 100;
                    s.address = l.address();
                    s.ports = toJson(l.ports());
                    s.phase = null;
                    s.updatedAt = now;
                    log.info("server {} active on {} after {} ms", s.id, l.hostId(), l.launchMillis());
                } else if (s.status == ServerRecord.Status.DELETED) {
                    terminate(s, now);
                }
            });
        } else if (event instanceof CloudletEvent.ServerFailed f) {
            server(f.serverId()).ifPresent(s -> {
                if (s.status == ServerRecord.Status.BUILD) {
                    s.fail(f.message(), now);
                }
            });
        } else if (event instanceof CloudletEvent.ServerTerminated t) {
            server(t.serverId()).ifPresent(s -> {
                if (s.status == ServerRecord.Status.DELETED) {
                    s.taskState = null;
                    s.updatedAt = now;
                }
            });
        } else if (event instanceof CloudletEvent.OverlayCreated o) {
            server(o.serverId()).ifPresent(s -> {
                s.taskState = null;
                s.progress = 100;
                s.lastOverlayId = o.imageId();
                s.phase = null;
                s.updatedAt = now;
            });
        } else if (event instanceof CloudletEvent.HandoffListening l) {
            server(l.serverId()).ifPresent(s -> {
                if (s.status == ServerRecord.Status.BUILD) {
                    s.handoffEndpoint = l.address() + ":" + l.port();
                    s.taskState = "spawning";
                    s.phase = "awaiting handoff";
                    s.updatedAt = now;
                }
            });
        } else if (event instanceof CloudletEvent.HandoffProgressed p) {
            handedOff(p.serverId(), p.handoffId()).ifPresent(s -> {
                s.progress = Math.max(0, Math.min(100, p.percent()));
                s.phase = p.phase();
                s.updatedAt = now;
            });
        } else if (event instanceof CloudletEvent.HandoffCompleted c) {
            handedOff(c.serverId(), c.handoffId()).ifPresent(s -> {
                // The agent terminated the instance when the destination reported it running.
                s.status = ServerRecord.Status.DELETED;
                s.taskState = null;
                s.phase = null;
                s.progress = 100;
                s.handedOffTo = "handoff " + c.handoffId();
                s.updatedAt = now;
                log.info("server {} handed off: {} bytes, {} passes, {} ms, downtime {} ms", s.id, c.bytes(),
                        c.passes(), c.totalMillis(), c.downtimeMillis());
            });
        } else if (event instanceof CloudletEvent.HandoffFailed f) {
            handedOff(f.serverId(), f.handoffId()).ifPresent(s -> {
                s.taskState = null;
                s.phase = null;
                s.fault = "handoff " + f.handoffId() + " failed; the server runs on here: " + f.message();
                s.updatedAt = now;
            });
        } else if (event instanceof CloudletEvent.OverlayFailed o) {
            server(o.serverId()).ifPresent(s -> {
                s.taskState = null;
                s.phase = null;
                s.fault = "overlay " + o.imageId() + " failed: " + o.message();
                s.updatedAt = now;
                // The image was registered for this overlay and will never get data.
                afterCommit(() -> images.deleteOverlay(o.imageId(), s.projectId));
            });
        }
    }

    private void heartbeat(CloudletEvent.AgentHeartbeat beat, Instant now) {
        AgentRecord agent = agents.findById(beat.hostId()).orElseGet(() -> new AgentRecord(beat.hostId()));
        if (agent.lastSeen() != null && agent.lastSeen().isAfter(beat.occurredAt())) {
            return;
        }
        agent.update(beat.address(), beat.vcpus(), beat.memoryMib(), beat.freeMemoryMib(), beat.freePorts(),
                beat.baseIds(), beat.occurredAt());
        agents.save(agent);
        Set<String> running = beat.instances().stream().map(CloudletEvent.InstanceState::serverId)
                .collect(Collectors.toSet());
        for (ServerRecord server : servers.findByHostIdAndStatusIn(beat.hostId(), List.of(ServerRecord.Status.ACTIVE))) {
            if (!running.contains(server.id.toString()) && server.updatedAt.isBefore(beat.occurredAt().minus(GRACE))) {
                log.warn("server {} is no longer on host {}", server.id, beat.hostId());
                server.fail("The instance is gone from host " + beat.hostId() + " (host restart or crash).", now);
            }
        }
        for (String id : running) {
            var server = server(id);
            if (server.isEmpty() || server.get().status == ServerRecord.Status.DELETED
                    && (server.get().terminateSentAt == null
                    || server.get().terminateSentAt.isBefore(now.minus(TERMINATE_RETRY)))) {
                log.info("host {} runs instance {} that no server wants; terminating it", beat.hostId(), id);
                outbox.send(beat.hostId(), new AgentCommand.TerminateServer(UUID.randomUUID().toString(), now, id));
                server.ifPresent(s -> s.terminateSentAt = now);
            }
        }
    }

    /**
     * Fails servers whose build cannot finish: their agent stopped sending heartbeats, or the build
     * has taken far longer than any launch should.
     */
    @Scheduled(fixedDelay = 5000)
    @Transactional
    public void failStalledBuilds() {
        Instant now = Instant.now();
        for (ServerRecord server : servers.findByStatus(ServerRecord.Status.BUILD)) {
            Instant seen = server.hostId == null ? null
                    : agents.findById(server.hostId).map(AgentRecord::lastSeen).orElse(null);
            if (seen != null && seen.isBefore(now.minus(properties.agentTimeout()))
                    && server.createdAt.isBefore(now.minus(properties.agentTimeout()))) {
                server.fail("Compute agent " + server.hostId + " stopped responding while the server was built.",
                        now);
            } else if (server.createdAt.isBefore(now.minus(BUILD_TIMEOUT))) {
                server.fail("The build did not finish within " + BUILD_TIMEOUT.toMinutes() + " minutes.", now);
            }
        }
    }

    private static void afterCommit(Runnable action) {
        TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
            @Override
            public void afterCommit() {
                action.run();
            }
        });
    }

    private void terminate(ServerRecord server, Instant now) {
        server.terminateSentAt = now;
        outbox.send(server.hostId, new AgentCommand.TerminateServer(UUID.randomUUID().toString(), now,
                server.id.toString()));
    }

    /** The server, while handoff {@code handoffId} of it is under way. */
    private java.util.Optional<ServerRecord> handedOff(String serverId, String handoffId) {
        return server(serverId).filter(s -> handoffId.equals(s.handoffId) && "migrating".equals(s.taskState));
    }

    private java.util.Optional<ServerRecord> server(String id) {
        try {
            return servers.findById(UUID.fromString(id));
        } catch (IllegalArgumentException e) {
            return java.util.Optional.empty();
        }
    }

    private String toJson(Object value) {
        try {
            return json.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
