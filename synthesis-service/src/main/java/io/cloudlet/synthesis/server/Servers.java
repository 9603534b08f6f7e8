package io.cloudlet.synthesis.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cloudlet.contracts.AgentCommand;
import io.cloudlet.contracts.BaseRef;
import io.cloudlet.synthesis.agent.AgentRecord;
import io.cloudlet.synthesis.agent.Scheduler;
import io.cloudlet.synthesis.images.ImageClient;
import io.cloudlet.synthesis.messaging.Outbox;
import io.cloudlet.synthesis.nova.Caller;
import io.cloudlet.synthesis.nova.NovaException;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;

import io.cloudlet.synthesis.handoff.HandoffClient;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Collectors;

/**
 * What callers do to servers: create (synthesise from an overlay, or resume a base VM), delete,
 * create an overlay. Each validates first, then changes the server and records the agent command
 * in one transaction (the outbox publishes it after the commit).
 */
@Service
public class Servers {

    /** A create request, as the Nova API received it. */
    public record CreateRequest(String name, String imageRef, String flavorRef, Map<String, String> metadata) {
    }

    /** A created server; {@code handoffTicket} is set, for this answer only, on a server that receives a handoff. */
    public record Created(ServerRecord server, String handoffTicket) {
    }

    /** A {@code cloudlet-handoff} action, as the Nova API received it. */
    public record HandoffRequest(String handoffUrl, String destToken, String destVmName, String handoffId,
                                 Integer maxMbps) {

        @Override
        public String toString() {
            return "HandoffRequest[" + handoffUrl + ", " + destVmName + ", " + handoffId + "]";
        }
    }

    static final String OVERLAY_URL = "overlay_url";
    /** Metadata key: {@code receive} creates a server that waits for a handoff instead of launching. */
    static final String HANDOFF = "cloudlet:handoff";
    static final String PORTS = "cloudlet_ports";
    private static final int MAX_PORTS = 8;

    private final ServerRepository servers;
    private final ImageClient images;
    private final Scheduler scheduler;
    private final Outbox outbox;
    private final TransactionTemplate transactions;
    private final ObjectMapper json;
    private final HandoffClient handoffs;
    private final SecureRandom random = new SecureRandom();

    Servers(ServerRepository servers, ImageClient images, Scheduler scheduler, Outbox outbox,
            TransactionTemplate transactions, ObjectMapper json, HandoffClient handoffs) {
        this.handoffs = handoffs;
        this.servers = servers;
        this.images = images;
        this.scheduler = scheduler;
        this.outbox = outbox;
        this.transactions = transactions;
        this.json = json;
    }

    public Created create(CreateRequest request, Caller caller) {
        if (request.name() == null || request.name().isBlank() || request.name().length() > 255) {
            throw NovaException.badRequest("A server needs a name of 1-255 characters.");
        }
        if (request.imageRef() == null || request.imageRef().isBlank()) {
            throw NovaException.badRequest("Missing imageRef: a base VM's base_disk image or an overlay image.");
        }
        if (request.flavorRef() == null || request.flavorRef().isBlank()) {
            throw NovaException.badRequest("Missing flavorRef.");
        }
        Map<String, String> metadata = request.metadata() == null ? Map.of() : request.metadata();
        ImageClient.Image image = images.image(request.imageRef(), caller).orElseThrow(() ->
                NovaException.badRequest("Image " + request.imageRef() + " could not be found."));
        String overlayUrl = metadata.get(OVERLAY_URL);
        String handoff = metadata.get(HANDOFF);
        if (handoff != null && (!handoff.equals("receive") || overlayUrl != null || !"base_disk".equals(image.type()))) {
            throw NovaException.badRequest("metadata." + HANDOFF + " may only be 'receive', with a base VM's "
                    + "base_disk image as imageRef and no " + OVERLAY_URL + ".");
        }
        switch (image.type()) {
            case "base_disk" -> {
                if (overlayUrl != null) {
                    checkOverlayUrl(overlayUrl);
                }
            }
            case "overlay" -> {
                if (overlayUrl != null) {
                    throw NovaException.badRequest("Give either an overlay image as imageRef or metadata."
                            + OVERLAY_URL + ", not both.");
                }
                if (!"active".equals(image.status())) {
                    throw NovaException.conflict("Overlay image " + image.id() + " has no data yet (status "
                            + image.status() + ").");
                }
                overlayUrl = images.fileUrl(image.id());
            }
            default -> throw NovaException.badRequest("Image " + image.id() + " is a base VM's " + image.type()
                    + "; boot from its base_disk image or from an overlay image.");
        }
        String baseId = image.baseId();
        ImageClient.Base base = images.bases(caller).stream().filter(b -> b.baseId().equals(baseId)).findFirst()
                .orElseThrow(() -> NovaException.badRequest("Base VM " + baseId + " of image " + image.id()
                        + " is not held by this cloudlet."));
        Flavors.Flavor flavor = Flavors.of(base);
        if (!flavor.id().equals(request.flavorRef())) {
            boolean known = Flavors.all(images.bases(caller)).stream().anyMatch(f -> f.id().equals(request.flavorRef()));
            throw NovaException.badRequest(known
                    ? "Flavor " + request.flavorRef() + " does not fit base VM '" + base.name()
                    + "': a resumed VM keeps its snapshot's shape, flavor " + flavor.id() + "."
                    : "Flavor " + request.flavorRef() + " could not be found.");
        }
        List<Integer> ports = guestPorts(metadata.getOrDefault(PORTS, "80"));
        Map<String, Long> pending = servers.findByStatus(ServerRecord.Status.BUILD).stream()
                .filter(s -> s.hostId != null)
                .collect(Collectors.groupingBy(s -> s.hostId, Collectors.summingLong(s -> s.memoryMib)));
        AgentRecord agent = scheduler.place(baseId, flavor.ramMib(), ports.size(), pending).orElseThrow(() ->
                scheduler.anyAlive()
                        ? NovaException.conflict("No valid host was found: no compute agent has "
                        + flavor.ramMib() + " MiB and " + ports.size() + " ports free.")
                        : new NovaException(503, "serviceUnavailable", "No valid host was found: no compute agent "
                        + "is alive (no heartbeat received recently)."));
        String launchUrl = overlayUrl;
        Map<String, String> stored = new LinkedHashMap<>(metadata);
        String ticket = handoff == null ? null : HexFormat.of().formatHex(randomBytes(32));
        ServerRecord created = transactions.execute(status -> {
            Instant now = Instant.now();
            ServerRecord server = servers.save(new ServerRecord(UUID.randomUUID(), caller.projectId(),
                    caller.userId(), request.name(), image.id(), flavor.id(), baseId, flavor.ramMib(), launchUrl,
                    toJson(stored), ports.stream().map(String::valueOf).collect(Collectors.joining(",")),
                    agent.hostId(), now));
            BaseRef baseRef = new BaseRef(baseId, base.name(), images.packageUrl(baseId));
            if (ticket == null) {
                outbox.send(agent.hostId(), new AgentCommand.LaunchServer(UUID.randomUUID().toString(), now,
                        server.id.toString(), caller.projectId(), baseRef, launchUrl, ports));
            } else {
                // Only the ticket's digest is stored (in the outbox) and sent; the sender presents the ticket.
                outbox.send(agent.hostId(), new AgentCommand.ReceiveServer(UUID.randomUUID().toString(), now,
                        server.id.toString(), caller.projectId(), baseRef, ports, sha256(ticket)));
            }
            return server;
        });
        return new Created(created, ticket);
    }

    /** Server {@code id} if the caller's project owns it (or the caller is admin) and it is not deleted. */
    public ServerRecord visible(String id, Caller caller) {
        return find(id).filter(s -> s.status != ServerRecord.Status.DELETED)
                .filter(s -> s.projectId.equals(caller.projectId()) || caller.isAdmin())
                .orElseThrow(() -> NovaException.notFound("Instance " + id + " could not be found."));
    }

    public List<ServerRecord> list(Caller caller, boolean allProjects) {
        return allProjects && caller.isAdmin()
                ? servers.findByStatusNotOrderByCreatedAtAsc(ServerRecord.Status.DELETED)
                : servers.findByProjectIdAndStatusNotOrderByCreatedAtAsc(caller.projectId(),
                ServerRecord.Status.DELETED);
    }

    /** Marks the server deleted and tells its agent to terminate it; the agent confirms by an event. */
    public void delete(String id, Caller caller) {
        transactions.executeWithoutResult(status -> {
            ServerRecord server = visible(id, caller);
            Instant now = Instant.now();
            server.status = ServerRecord.Status.DELETED;
            server.taskState = "deleting";
            server.updatedAt = now;
            if (server.hostId != null) {
                server.terminateSentAt = now;
                outbox.send(server.hostId, new AgentCommand.TerminateServer(UUID.randomUUID().toString(), now,
                        server.id.toString()));
            }
        });
    }

    /**
     * Registers an empty overlay image with the image service and asks the server's agent to create
     * the overlay and upload it there. Returns the overlay image's id.
     */
    public String createOverlay(String id, String name, Caller caller) {
        ServerRecord server = visible(id, caller);
        if (name == null || name.isBlank() || name.length() > 255) {
            throw NovaException.badRequest("cloudlet-overlay needs a name of 1-255 characters.");
        }
        checkIdle(server);
        String imageId = images.registerOverlay(name, caller);
        try {
            transactions.executeWithoutResult(status -> {
                ServerRecord current = visible(id, caller);
                checkIdle(current);
                Instant now = Instant.now();
                current.taskState = "image_uploading";
                current.progress = 0;
                current.phase = null;
                current.updatedAt = now;
                outbox.send(current.hostId, new AgentCommand.CreateOverlay(UUID.randomUUID().toString(), now,
                        current.id.toString(), caller.projectId(), imageId, images.fileUrl(imageId), null));
            });
        } catch (RuntimeException e) {
            // Another request got the server first: the image registered for this one stays empty.
            images.deleteOverlay(imageId, caller.projectId());
            throw e;
        }
        return imageId;
    }

    /**
     * Starts handing server {@code id} off to another cloudlet; returns the handoff id. A request
     * naming the id of this server's latest handoff is answered with it and starts nothing.
     */
    public String handoff(String id, HandoffRequest request, Caller caller) {
        checkHandoffRequest(request);
        Optional<ServerRecord> earlier = find(id).filter(s -> s.projectId.equals(caller.projectId()) || caller.isAdmin())
                .filter(s -> request.handoffId() != null && request.handoffId().equals(s.handoffId));
        if (earlier.isPresent()) {
            return earlier.get().handoffId;
        }
        String handoffId = request.handoffId() != null ? request.handoffId() : UUID.randomUUID().toString();
        ServerRecord server = transactions.execute(status -> {
            ServerRecord current = visible(id, caller);
            checkIdle(current, "cloudlet-handoff");
            current.taskState = "migrating";
            current.handoffId = handoffId;
            current.progress = 0;
            current.phase = "checking destination";
            current.fault = null;
            current.updatedAt = Instant.now();
            return current;
        });
        try {
            handoffs.start(new HandoffClient.Start(handoffId, server.id.toString(), server.projectId, server.hostId,
                    server.baseId, server.flavorId, guestPorts(server.guestPorts), request.handoffUrl(),
                    request.destToken(), request.destVmName(),
                    request.maxMbps() == null ? 0 : request.maxMbps() * 125_000L));
        } catch (RuntimeException e) {
            transactions.executeWithoutResult(status -> find(id).ifPresent(s -> {
                if (handoffId.equals(s.handoffId) && "migrating".equals(s.taskState)) {
                    s.taskState = null;
                    s.phase = null;
                    s.handoffId = null;
                    s.updatedAt = Instant.now();
                }
            }));
            throw e;
        }
        return handoffId;
    }

    private static void checkHandoffRequest(HandoffRequest request) {
        try {
            URI uri = new URI(request.handoffUrl() == null ? "" : request.handoffUrl());
            if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
                throw new java.net.URISyntaxException(request.handoffUrl(), "not http(s)");
            }
        } catch (java.net.URISyntaxException e) {
            throw NovaException.badRequest("cloudlet-handoff needs handoff_url, the destination cloudlet's API "
                    + "endpoint as an http(s) URL.");
        }
        if (request.destToken() == null || request.destToken().isBlank()) {
            throw NovaException.badRequest("cloudlet-handoff needs dest_token, a token valid at the destination.");
        }
        if (request.destVmName() == null || request.destVmName().isBlank() || request.destVmName().length() > 255) {
            throw NovaException.badRequest("cloudlet-handoff needs dest_vmname of 1-255 characters.");
        }
        if (request.maxMbps() != null && (request.maxMbps() < 1 || request.maxMbps() > 100_000)) {
            throw NovaException.badRequest("max_mbps must be 1-100000 (megabits per second).");
        }
        if (request.handoffId() != null) {
            try {
                UUID.fromString(request.handoffId());
            } catch (IllegalArgumentException e) {
                throw NovaException.badRequest("handoff_id must be a UUID.");
            }
        }
    }

    private static void checkIdle(ServerRecord server) {
        checkIdle(server, "cloudlet-overlay");
    }

    private static void checkIdle(ServerRecord server, String action) {
        if (server.status != ServerRecord.Status.ACTIVE || server.taskState != null) {
            throw NovaException.conflict("Cannot '" + action + "' instance " + server.id + " while it is in "
                    + "status " + server.status + (server.taskState == null ? "" : ", task " + server.taskState)
                    + ".");
        }
    }

    Optional<ServerRecord> find(String id) {
        try {
            return servers.findById(UUID.fromString(id));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private static void checkOverlayUrl(String url) {
        try {
            URI uri = new URI(url);
            if (("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) && uri.getHost() != null) {
                return;
            }
        } catch (java.net.URISyntaxException e) {
            // refused below
        }
        throw NovaException.badRequest("metadata." + OVERLAY_URL + " must be an http(s) URL, not '" + url + "'.");
    }

    private static List<Integer> guestPorts(String value) {
        List<Integer> ports = new ArrayList<>();
        for (String part : value.split(",")) {
            try {
                int port = Integer.parseInt(part.trim());
                if (port < 1 || port > 65535 || ports.contains(port)) {
                    throw new NumberFormatException();
                }
                ports.add(port);
            } catch (NumberFormatException e) {
                throw NovaException.badRequest("metadata." + PORTS + " must list distinct TCP ports (1-65535), "
                        + "comma-separated, not '" + value + "'.");
            }
        }
        if (ports.size() > MAX_PORTS) {
            throw NovaException.badRequest("metadata." + PORTS + " may list at most " + MAX_PORTS + " ports.");
        }
        return ports;
    }

    private byte[] randomBytes(int count) {
        byte[] bytes = new byte[count];
        random.nextBytes(bytes);
        return bytes;
    }

    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
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
