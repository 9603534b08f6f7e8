package io.cloudlet.agent.service;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.cloudlet.agent.AgentException;
import io.cloudlet.agent.host.CloudletHost;
import io.cloudlet.agent.host.InstanceView;
import io.cloudlet.agent.host.OverlayReport;
import io.cloudlet.agent.host.Progress;
import io.cloudlet.agent.hypervisor.PortForward;
import io.cloudlet.contracts.AgentCommand;
import io.cloudlet.contracts.BaseRef;
import io.cloudlet.contracts.CloudletEvent;
import io.cloudlet.engine.overlay.Codec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.messaging.Message;
import org.springframework.stereotype.Component;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * Runs the commands from this agent's queue, one at a time, and reports each outcome as an event.
 * Every command is idempotent: a launch of a server that runs already reports it again, a
 * terminate of a server that is gone reports it terminated, and a repeated command id is skipped.
 */
@Component
class CommandHandler {

    private static final Logger log = LoggerFactory.getLogger(CommandHandler.class);

    private final CloudletHost host;
    private final AgentProperties properties;
    private final Events events;
    private final Heartbeat heartbeat;
    private final Handoffs handoffs;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10))
            .followRedirects(HttpClient.Redirect.NORMAL).build();
    private final Set<String> seen = Collections.newSetFromMap(new LinkedHashMap<>(256, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > 10_000;
        }
    });

    CommandHandler(CloudletHost host, AgentProperties properties, Events events, Heartbeat heartbeat,
                   Handoffs handoffs) {
        this.host = host;
        this.properties = properties;
        this.events = events;
        this.heartbeat = heartbeat;
        this.handoffs = handoffs;
    }

    /** The {@code agentCommands} binding. */
    @Configuration(proxyBeanMethods = false)
    static class Binding {
        @Bean
        Consumer<Message<byte[]>> agentCommands(CommandHandler handler, ObjectMapper json) {
            return message -> {
                AgentCommand command;
                try {
                    command = json.readValue(message.getPayload(), AgentCommand.class);
                } catch (IOException e) {
                    throw new UncheckedIOException("unreadable command " + message.getHeaders().getId(), e);
                }
                handler.handle(command);
            };
        }
    }

    void handle(AgentCommand command) {
        MDC.put("server_id", command.serverId());
        MDC.put("command_id", command.commandId());
        try {
            if (seen.contains(command.commandId())) {
                log.info("command {} handled before, skipped", command.commandId());
                return;
            }
            if (command instanceof AgentCommand.LaunchServer launch) {
                launch(launch);
            } else if (command instanceof AgentCommand.CreateOverlay overlay) {
                createOverlay(overlay);
            } else if (command instanceof AgentCommand.TerminateServer terminate) {
                terminate(terminate);
            } else if (command instanceof AgentCommand.ReceiveServer receive) {
                receive(receive);
            } else if (command instanceof AgentCommand.HandOffServer handOff) {
                handoffs.send(handOff);
            }
            // Only once handled: a command that threw is retried by the binder, then dead-lettered.
            seen.add(command.commandId());
        } finally {
            MDC.remove("server_id");
            MDC.remove("command_id");
        }
    }

    private void launch(AgentCommand.LaunchServer command) {
        String id = command.serverId();
        Optional<InstanceView> present = instance(id);
        if (present.isPresent()) {
            log.info("server {} exists already ({}), reporting it", id, present.get().state());
            events.publish(launched(present.get(), 0));
            return;
        }
        long started = System.nanoTime();
        Progress progress = progress(id);
        try {
            String baseName = ensureBase(command.base(), progress);
            InstanceView instance = null;
            for (int attempt = 1; instance == null; attempt++) {
                List<PortForward> forwards = allocate(command.guestPorts());
                try {
                    instance = command.overlayUrl() == null
                            ? host.resume(baseName, id, forwards, progress)
                            : host.synthesize(baseName, command.overlayUrl(), id, forwards, progress).instance();
                } catch (AgentException e) {
                    // A port taken between the check and QEMU's bind: try other ports.
                    if (e.reason() != AgentException.Reason.CONFLICT || attempt == 3 || instance(id).isPresent()) {
                        throw e;
                    }
                }
            }
            long millis = Duration.ofNanos(System.nanoTime() - started).toMillis();
            log.info("server {} launched in {} ms", id, millis);
            events.publish(launched(instance, millis));
        } catch (RuntimeException e) {
            String reason = e instanceof AgentException a ? a.reason().name() : "FAILED";
            log.warn("server {} failed to launch: {}", id, e.getMessage());
            events.publish(new CloudletEvent.ServerFailed(UUID.randomUUID().toString(), Instant.now(), id,
                    properties.hostId(), reason, e.getMessage() == null ? e.toString() : e.getMessage()));
        }
        heartbeat.publishNow();
    }

    private void receive(AgentCommand.ReceiveServer command) {
        String id = command.serverId();
        Optional<InstanceView> present = instance(id);
        if (present.isPresent() && !handoffs.receiving(id)) {
            log.info("server {} was received already ({}), reporting it", id, present.get().state());
            events.publish(launched(present.get(), 0));
            return;
        }
        try {
            ensureBase(command.base(), progress(id));
            handoffs.receive(command, allocate(command.guestPorts()));
        } catch (RuntimeException e) {
            String reason = e instanceof AgentException a ? a.reason().name() : "FAILED";
            log.warn("server {} cannot be received: {}", id, e.getMessage());
            events.publish(new CloudletEvent.ServerFailed(UUID.randomUUID().toString(), Instant.now(), id,
                    properties.hostId(), reason, e.getMessage() == null ? e.toString() : e.getMessage()));
        }
    }

    private CloudletEvent.ServerLaunched launched(InstanceView instance, long millis) {
        return new CloudletEvent.ServerLaunched(UUID.randomUUID().toString(), Instant.now(), instance.name(),
                properties.hostId(), properties.address(), instance.forwards().stream()
                .map(f -> new CloudletEvent.PortMapping(f.guestPort(), f.hostPort())).toList(), millis);
    }

    /** The base VM's local name, downloading and importing its package first if this host lacks it. */
    private String ensureBase(BaseRef base, Progress progress) {
        Optional<String> name = host.baseNameOf(base.baseId());
        if (name.isPresent()) {
            return name.get();
        }
        log.info("fetching base VM {} ({}) from {}", base.name(), base.baseId(), base.packageUrl());
        HttpRequest request = HttpRequest.newBuilder(URI.create(base.packageUrl()))
                .GET().build();
        try {
            HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream body = response.body()) {
                if (response.statusCode() != 200) {
                    throw new AgentException(AgentException.Reason.FAILED, "fetching base VM " + base.baseId()
                            + " from the image service answered HTTP " + response.statusCode());
                }
                var imported = host.importBase(body, progress);
                if (!imported.baseId().equals(base.baseId())) {
                    throw new AgentException(AgentException.Reason.FAILED, "the image service sent base VM "
                            + imported.baseId() + " for " + base.baseId());
                }
                return imported.name();
            }
        } catch (IOException e) {
            throw new AgentException(AgentException.Reason.FAILED, "fetching base VM " + base.baseId() + " failed: "
                    + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AgentException(AgentException.Reason.FAILED, "interrupted while fetching base VM", e);
        }
    }

    /** Free host ports from the configured range: not claimed by an instance and bindable now. */
    private List<PortForward> allocate(List<Integer> guestPorts) {
        Set<Integer> claimed = Heartbeat.claimedPorts(host.listInstances());
        List<PortForward> forwards = new ArrayList<>();
        for (int port = properties.firstPort(); port <= properties.lastPort() && forwards.size() < guestPorts.size();
             port++) {
            if (!claimed.contains(port) && bindable(port)) {
                forwards.add(new PortForward(properties.forwardAddress(), port, guestPorts.get(forwards.size())));
            }
        }
        if (forwards.size() < guestPorts.size()) {
            throw new AgentException(AgentException.Reason.HOST_UNSUITABLE, "no free host port left in "
                    + properties.portRange());
        }
        return forwards;
    }

    private boolean bindable(int port) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new java.net.InetSocketAddress(properties.forwardAddress(), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private void createOverlay(AgentCommand.CreateOverlay command) {
        String id = command.serverId();
        Path file = null;
        try {
            file = properties.home().resolve("tmp").resolve("overlay-" + command.commandId() + ".cloudlet");
            Codec codec = "xz".equals(command.codec()) ? Codec.XZ : Codec.ZSTD;
            OverlayReport report = host.createOverlay(id, file, codec, null, progress(id));
            upload(file, command);
            events.publish(new CloudletEvent.OverlayCreated(UUID.randomUUID().toString(), Instant.now(), id,
                    command.imageId(), report.bytes(), report.baseId()));
        } catch (IOException | RuntimeException e) {
            log.warn("overlay of server {} failed: {}", id, e.getMessage());
            events.publish(new CloudletEvent.OverlayFailed(UUID.randomUUID().toString(), Instant.now(), id,
                    command.imageId(), e.getMessage() == null ? e.toString() : e.getMessage()));
        } finally {
            if (file != null) {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException e) {
                    log.warn("could not remove {}: {}", file, e.getMessage());
                }
            }
        }
    }

    private void upload(Path file, AgentCommand.CreateOverlay command) throws IOException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(command.uploadUrl()))
                .header("X-Project-Id", command.projectId()).header("X-Roles", "service")
                .header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofFile(file)).build();
        try {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            // 409: a retried command whose earlier upload completed.
            if (response.statusCode() != 204 && response.statusCode() != 409) {
                throw new IOException("uploading the overlay answered HTTP " + response.statusCode() + ": "
                        + response.body());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while uploading the overlay", e);
        }
    }

    private void terminate(AgentCommand.TerminateServer command) {
        try {
            host.terminate(command.serverId());
        } catch (AgentException e) {
            if (e.reason() != AgentException.Reason.NOT_FOUND) {
                log.warn("terminating server {} failed: {}", command.serverId(), e.getMessage());
                throw e;
            }
        }
        events.publish(new CloudletEvent.ServerTerminated(UUID.randomUUID().toString(), Instant.now(),
                command.serverId(), properties.hostId()));
        heartbeat.publishNow();
    }

    private Optional<InstanceView> instance(String id) {
        return host.listInstances().stream().filter(i -> i.name().equals(id)).findFirst();
    }

    /** Reports progress as {@link CloudletEvent.ServerProgressed} events. */
    private Progress progress(String serverId) {
        return new ProgressEvents((phase, percent) -> events.publish(new CloudletEvent.ServerProgressed(
                UUID.randomUUID().toString(), Instant.now(), serverId, properties.hostId(), phase, percent)));
    }
}
