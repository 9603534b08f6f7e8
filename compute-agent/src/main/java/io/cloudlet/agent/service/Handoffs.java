package io.cloudlet.agent.service;

import io.cloudlet.agent.AgentException;
import io.cloudlet.agent.host.CloudletHost;
import io.cloudlet.agent.host.InstanceView;
import io.cloudlet.agent.hypervisor.PortForward;
import io.cloudlet.contracts.AgentCommand;
import io.cloudlet.contracts.CloudletEvent;
import io.cloudlet.engine.handoff.HandoffSender;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.stereotype.Component;

/**
 * The agent's part in VM handoff, run off the command thread so that a long transfer does not hold
 * up other commands: receiving (listen once, check the ticket, let the host rebuild and resume the
 * VM) and sending (stream a running server to a receiving agent).
 */
@Component
class Handoffs implements DisposableBean {

    /** How long a receiving agent waits for the sender to connect. */
    static final Duration ACCEPT_TIMEOUT = Duration.ofMinutes(5);

    private static final Logger log = LoggerFactory.getLogger(Handoffs.class);

    private final CloudletHost host;
    private final AgentProperties properties;
    private final Events events;
    private final Heartbeat heartbeat;
    private final ExecutorService workers = Executors.newCachedThreadPool(runnable -> {
        Thread thread = new Thread(runnable, "handoff");
        thread.setDaemon(true);
        return thread;
    });
    private final Map<String, Integer> listening = new ConcurrentHashMap<>();
    private final Map<String, String> sending = new ConcurrentHashMap<>();

    Handoffs(CloudletHost host, AgentProperties properties, Events events, Heartbeat heartbeat) {
        this.host = host;
        this.properties = properties;
        this.events = events;
        this.heartbeat = heartbeat;
    }

    /** True while server {@code serverId} is being received or is waiting for its sender here. */
    boolean receiving(String serverId) {
        return listening.containsKey(serverId);
    }

    /** Listens for the handoff of a server, then receives it in the background. */
    void receive(AgentCommand.ReceiveServer command, List<PortForward> forwards) {
        String id = command.serverId();
        Integer port = listening.get(id);
        if (port != null) {
            publishListening(id, port);
            return;
        }
        ServerSocket listener;
        try {
            listener = new ServerSocket(0, 1, InetAddress.getByName(properties.address()));
            listener.setSoTimeout((int) ACCEPT_TIMEOUT.toMillis());
        } catch (IOException e) {
            throw new AgentException(AgentException.Reason.FAILED, "cannot listen for the handoff of " + id + ": "
                    + e.getMessage(), e);
        }
        listening.put(id, listener.getLocalPort());
        workers.submit(() -> accept(command, forwards, listener));
        publishListening(id, listener.getLocalPort());
    }

    /** Streams a running server to the receiver in the background. */
    void send(AgentCommand.HandOffServer command) {
        if (sending.putIfAbsent(command.serverId(), command.handoffId()) != null) {
            log.info("server {} is being handed off already", command.serverId());
            return;
        }
        workers.submit(() -> stream(command));
    }

    private void accept(AgentCommand.ReceiveServer command, List<PortForward> forwards, ServerSocket listener) {
        String id = command.serverId();
        MDC.put("server_id", id);
        AtomicBoolean used = new AtomicBoolean();
        try (listener; Socket socket = listener.accept()) {
            socket.setTcpNoDelay(true);
            long started = System.nanoTime();
            CloudletHost.HandoffArrival arrival = host.receiveHandoff(id, forwards,
                    ticket -> sha256(ticket).equals(command.ticketSha256()) && used.compareAndSet(false, true),
                    socket.getInputStream(), socket.getOutputStream(), (phase, percent) -> { });
            InstanceView instance = arrival.instance();
            long millis = Duration.ofNanos(System.nanoTime() - started).toMillis();
            log.info("server {} received in {} ms ({} passes)", id, millis, arrival.result().passes());
            events.publish(new CloudletEvent.ServerLaunched(UUID.randomUUID().toString(), Instant.now(), id,
                    properties.hostId(), properties.address(), instance.forwards().stream()
                    .map(f -> new CloudletEvent.PortMapping(f.guestPort(), f.hostPort())).toList(), millis));
        } catch (SocketTimeoutException e) {
            failed(id, "no sender connected within " + ACCEPT_TIMEOUT.toMinutes() + " minutes");
        } catch (IOException | RuntimeException e) {
            failed(id, e.getMessage() == null ? e.toString() : e.getMessage());
        } finally {
            listening.remove(id);
            heartbeat.publishNow();
            MDC.remove("server_id");
        }
    }

    private void failed(String id, String message) {
        log.warn("receiving server {} failed: {}", id, message);
        events.publish(new CloudletEvent.ServerFailed(UUID.randomUUID().toString(), Instant.now(), id,
                properties.hostId(), "FAILED", "handoff: " + message));
    }

    private void stream(AgentCommand.HandOffServer command) {
        String id = command.serverId();
        MDC.put("server_id", id);
        try {
            HandoffSender.Report report = host.handoff(id, new InetSocketAddress(command.address(), command.port()),
                    command.ticket(), command.linkBytesPerSecond(), HandoffSender.Options.defaults(),
                    progress(command));
            log.info("server {} handed off: {} bytes in {} passes, {} ms, downtime {} ms, codecs {}", id,
                    report.wireBytes(), report.passes().size(), report.total().toMillis(),
                    report.downtime().toMillis(), report.codecUse());
            events.publish(new CloudletEvent.HandoffCompleted(UUID.randomUUID().toString(), Instant.now(), id,
                    command.handoffId(), report.wireBytes(), report.passes().size(), report.total().toMillis(),
                    report.downtime().toMillis()));
        } catch (RuntimeException e) {
            log.warn("handoff of server {} failed: {}", id, e.getMessage());
            events.publish(new CloudletEvent.HandoffFailed(UUID.randomUUID().toString(), Instant.now(), id,
                    command.handoffId(), e.getMessage() == null ? e.toString() : e.getMessage()));
        } finally {
            sending.remove(id);
            heartbeat.publishNow();
            MDC.remove("server_id");
        }
    }

    private void publishListening(String id, int port) {
        events.publish(new CloudletEvent.HandoffListening(UUID.randomUUID().toString(), Instant.now(), id,
                properties.hostId(), properties.address(), port));
    }

    /** Progress as {@link CloudletEvent.HandoffProgressed} events. */
    private HandoffSender.Progress progress(AgentCommand.HandOffServer command) {
        return new ProgressEvents((phase, percent) -> events.publish(new CloudletEvent.HandoffProgressed(
                UUID.randomUUID().toString(), Instant.now(), command.serverId(), command.handoffId(), phase, percent)));
    }

    static String sha256(String ticket) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(ticket.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void destroy() {
        workers.shutdownNow();
    }
}
