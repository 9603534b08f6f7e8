package io.cloudlet.synthesis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.cloudlet.contracts.AgentCommand;
import io.cloudlet.contracts.CloudletEvent;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.amqp.core.AmqpAdmin;
import org.springframework.amqp.core.BindingBuilder;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.core.MessageProperties;
import org.springframework.amqp.core.Queue;
import org.springframework.amqp.core.TopicExchange;
import org.springframework.amqp.rabbit.core.RabbitTemplate;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The synthesis service against the real local PostgreSQL and RabbitMQ, with a stand-in image
 * service (an HTTP stub) and a stand-in agent (a queue bound like an agent's, and events
 * published to the events exchange as an agent would).
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "spring.datasource.url=jdbc:postgresql://127.0.0.1:5432/cloudlet_it?currentSchema=synthesis",
        "CLOUDLET_MQ_PREFIX=it.", "cloudlet.synthesis.handoff-service-url=http://127.0.0.1:9"})
class SynthesisServiceIT {

    private static final String HOST = "it-host";
    private static final String AGENT_QUEUE = "it.agent-commands." + HOST;
    private static final ObjectMapper JSON = new ObjectMapper().findAndRegisterModules();
    private static final List<String> DELETED = new java.util.concurrent.CopyOnWriteArrayList<>();
    private static final HttpServer IMAGES = imageServiceStub();

    @LocalServerPort
    int port;
    @Autowired
    JdbcTemplate jdbc;
    @Autowired
    RabbitTemplate rabbit;
    @Autowired
    AmqpAdmin admin;

    private final HttpClient http = HttpClient.newHttpClient();

    @DynamicPropertySource
    static void imageService(DynamicPropertyRegistry registry) {
        registry.add("cloudlet.synthesis.image-service-url", () -> "http://127.0.0.1:" + IMAGES.getAddress().getPort());
    }

    @AfterAll
    static void stopStub() {
        IMAGES.stop(0);
    }

    @BeforeEach
    void cleanState() {
        jdbc.update("delete from server");
        jdbc.update("delete from agent");
        TopicExchange commands = new TopicExchange("it.cloudlet.agent-commands", true, false);
        admin.declareExchange(commands);
        Queue queue = new Queue(AGENT_QUEUE, false, false, false);
        admin.declareQueue(queue);
        admin.declareBinding(BindingBuilder.bind(queue).to(commands).with(HOST));
        admin.purgeQueue(AGENT_QUEUE, false);
    }

    @Test
    void withNoAgentAliveCreateFailsAtOnceAndStoresNothing() throws Exception {
        HttpResponse<String> reply = post("/v2.1/servers", "alpha", create("c1.m256.d1", null));
        assertThat(reply.statusCode()).isEqualTo(503);
        assertThat(JSON.readTree(reply.body()).path("serviceUnavailable").path("message").asText())
                .contains("no compute agent is alive");
        assertThat(jdbc.queryForObject("select count(*) from server", Integer.class)).isZero();
    }

    @Test
    void aServerIsPlacedLaunchedThroughItsAgentAndTerminatedOnDelete() throws Exception {
        heartbeat(List.of(), Instant.now());
        HttpResponse<String> reply = post("/v2.1/servers", "alpha", create("c1.m256.d1", "http://phone/app.overlay"));
        assertThat(reply.statusCode()).as(reply.body()).isEqualTo(202);
        String id = JSON.readTree(reply.body()).path("server").path("id").asText();

        AgentCommand.LaunchServer launch = (AgentCommand.LaunchServer) nextCommand();
        assertThat(launch.serverId()).isEqualTo(id);
        assertThat(launch.overlayUrl()).isEqualTo("http://phone/app.overlay");
        assertThat(launch.base().baseId()).isEqualTo("b1");
        assertThat(launch.base().packageUrl()).endsWith("/v2/cloudlet/bases/b1/package");
        assertThat(launch.guestPorts()).containsExactly(80);
        assertThat(show(id, "alpha").path("status").asText()).isEqualTo("BUILD");
        for (int i = 0; i < 100 && unpublished() > 0; i++) {
            Thread.sleep(20);
        }
        assertThat(unpublished()).as("outbox rows the broker has not confirmed").isZero();

        String eventId = UUID.randomUUID().toString();
        publish(new CloudletEvent.ServerLaunched(eventId, Instant.now(), id, HOST, "10.0.0.5",
                List.of(new CloudletEvent.PortMapping(80, 20001)), 1234));
        JsonNode active = waitFor(id, s -> s.path("status").asText().equals("ACTIVE"));
        assertThat(active.path("cloudlet:endpoint").asText()).isEqualTo("10.0.0.5:20001");
        assertThat(active.path("metadata").path("cloudlet_endpoint").asText()).isEqualTo("10.0.0.5:20001");
        assertThat(active.path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo(HOST);

        // A redelivered event changes nothing, and a late failure does not undo a launch.
        publish(new CloudletEvent.ServerFailed(eventId, Instant.now(), id, HOST, "FAILED", "duplicate"));
        publish(new CloudletEvent.ServerFailed(UUID.randomUUID().toString(), Instant.now(), id, HOST, "FAILED", "late"));
        Thread.sleep(500);
        assertThat(show(id, "alpha").path("status").asText()).isEqualTo("ACTIVE");

        assertThat(send("GET", "/v2.1/servers/" + id, "beta", null).statusCode()).isEqualTo(404);
        assertThat(send("DELETE", "/v2.1/servers/" + id, "beta", null).statusCode()).isEqualTo(404);
        assertThat(send("DELETE", "/v2.1/servers/" + id, "alpha", null).statusCode()).isEqualTo(204);
        AgentCommand terminate = nextCommand();
        assertThat(terminate).isInstanceOf(AgentCommand.TerminateServer.class);
        assertThat(terminate.serverId()).isEqualTo(id);
        assertThat(send("GET", "/v2.1/servers/" + id, "alpha", null).statusCode()).isEqualTo(404);
    }

    @Test
    void aHeartbeatWithoutAnActiveServerPutsItInErrorAndStrayInstancesAreTerminated() throws Exception {
        heartbeat(List.of(), Instant.now());
        String id = JSON.readTree(post("/v2.1/servers", "alpha", create("c1.m256.d1", null)).body())
                .path("server").path("id").asText();
        nextCommand();
        publish(new CloudletEvent.ServerLaunched(UUID.randomUUID().toString(), Instant.now(), id, HOST, "10.0.0.5",
                List.of(new CloudletEvent.PortMapping(80, 20001)), 1));
        waitFor(id, s -> s.path("status").asText().equals("ACTIVE"));

        String stray = UUID.randomUUID().toString();
        heartbeat(List.of(new CloudletEvent.InstanceState(stray, "running")), Instant.now().plusSeconds(30));
        JsonNode failed = waitFor(id, s -> s.path("status").asText().equals("ERROR"));
        assertThat(failed.path("fault").path("message").asText()).contains("gone from host " + HOST);
        AgentCommand terminate = nextCommand();
        assertThat(terminate).isInstanceOf(AgentCommand.TerminateServer.class);
        assertThat(terminate.serverId()).isEqualTo(stray);
    }

    @Test
    void anOverlayActionGoesToTheAgentAndAFailedOneLeavesNoEmptyImage() throws Exception {
        heartbeat(List.of(), Instant.now());
        String id = JSON.readTree(post("/v2.1/servers", "alpha", create("c1.m256.d1", null)).body())
                .path("server").path("id").asText();
        nextCommand();
        publish(new CloudletEvent.ServerLaunched(UUID.randomUUID().toString(), Instant.now(), id, HOST, "10.0.0.5",
                List.of(new CloudletEvent.PortMapping(80, 20001)), 1));
        waitFor(id, s -> s.path("status").asText().equals("ACTIVE"));

        HttpResponse<String> action = post("/v2.1/servers/" + id + "/action", "alpha",
                "{\"cloudlet-overlay\":{\"name\":\"app\"}}");
        assertThat(action.statusCode()).as(action.body()).isEqualTo(202);
        assertThat(JSON.readTree(action.body()).path("image_id").asText()).isEqualTo("ov-1");
        AgentCommand.CreateOverlay command = (AgentCommand.CreateOverlay) nextCommand();
        assertThat(command.uploadUrl()).endsWith("/v2/images/ov-1/file");
        assertThat(command.projectId()).isEqualTo("alpha");
        assertThat(show(id, "alpha").path("OS-EXT-STS:task_state").asText()).isEqualTo("image_uploading");
        assertThat(post("/v2.1/servers/" + id + "/action", "alpha", "{\"cloudlet-overlay\":{\"name\":\"again\"}}")
                .statusCode()).isEqualTo(409);

        publish(new CloudletEvent.OverlayFailed(UUID.randomUUID().toString(), Instant.now(), id, "ov-1", "disk full"));
        JsonNode server = waitFor(id, s -> s.path("OS-EXT-STS:task_state").isNull());
        assertThat(server.path("status").asText()).isEqualTo("ACTIVE");
        assertThat(server.path("fault").path("message").asText()).contains("disk full");
        for (int i = 0; i < 100 && !DELETED.contains("/v2/images/ov-1"); i++) {
            Thread.sleep(50);
        }
        assertThat(DELETED).contains("/v2/images/ov-1");
    }

    @Test
    void badRequestsAreRefusedInNovasShape() throws Exception {
        heartbeat(List.of(), Instant.now());
        HttpResponse<String> wrongFlavor = post("/v2.1/servers", "alpha", create("c2.m512.d1", null));
        assertThat(wrongFlavor.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(wrongFlavor.body()).path("badRequest").path("message").asText())
                .contains("could not be found");
        HttpResponse<String> unknownImage = post("/v2.1/servers", "alpha",
                "{\"server\":{\"name\":\"x\",\"imageRef\":\"nope\",\"flavorRef\":\"c1.m256.d1\"}}");
        assertThat(unknownImage.statusCode()).isEqualTo(400);
        HttpResponse<String> malformed = post("/v2.1/servers", "alpha", "{\"server\":");
        assertThat(malformed.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(malformed.body()).path("badRequest").path("code").asInt()).isEqualTo(400);
        HttpResponse<String> ports = post("/v2.1/servers", "alpha", "{\"server\":{\"name\":\"x\",\"imageRef\":"
                + "\"base-disk\",\"flavorRef\":\"c1.m256.d1\",\"metadata\":{\"cloudlet_ports\":\"80,99999\"}}}");
        assertThat(ports.statusCode()).isEqualTo(400);
        HttpResponse<String> anonymous = send("GET", "/v2.1/servers", null, null);
        assertThat(anonymous.statusCode()).isEqualTo(401);
        assertThat(JSON.readTree(anonymous.body()).path("unauthorized").path("code").asInt()).isEqualTo(401);
        HttpResponse<String> action = post("/v2.1/servers/" + UUID.randomUUID() + "/action", "alpha",
                "{\"cloudlet-overlay\":{\"name\":\"x\"}}");
        assertThat(action.statusCode()).isEqualTo(404);
        assertThat(jdbc.queryForObject("select count(*) from server", Integer.class)).isZero();
    }

    @Test
    void flavorsAreDerivedFromBaseVms() throws Exception {
        JsonNode flavors = JSON.readTree(send("GET", "/v2.1/flavors/detail", "alpha", null).body()).path("flavors");
        assertThat(flavors).hasSize(1);
        assertThat(flavors.get(0).path("id").asText()).isEqualTo("c1.m256.d1");
        assertThat(flavors.get(0).path("ram").asInt()).isEqualTo(256);
        assertThat(send("GET", "/v2.1/flavors/c9.m1.d1", "alpha", null).statusCode()).isEqualTo(404);
    }

    @Test
    void aReceivingServerGetsATicketOnceAndItsAgentOnlyTheDigest() throws Exception {
        heartbeat(List.of(), Instant.now());
        HttpResponse<String> reply = post("/v2.1/servers", "alpha", "{\"server\":{\"name\":\"moved\",\"imageRef\":"
                + "\"base-disk\",\"flavorRef\":\"c1.m256.d1\",\"metadata\":{\"cloudlet:handoff\":\"receive\"}}}");
        assertThat(reply.statusCode()).as(reply.body()).isEqualTo(202);
        JsonNode created = JSON.readTree(reply.body()).path("server");
        String id = created.path("id").asText();
        String ticket = created.path("cloudlet:handoff_ticket").asText();
        assertThat(ticket).hasSize(64);

        AgentCommand.ReceiveServer receive = (AgentCommand.ReceiveServer) nextCommand();
        assertThat(receive.serverId()).isEqualTo(id);
        assertThat(receive.ticketSha256()).isEqualTo(java.util.HexFormat.of().formatHex(
                java.security.MessageDigest.getInstance("SHA-256").digest(ticket.getBytes(
                        java.nio.charset.StandardCharsets.UTF_8))));
        assertThat(jdbc.queryForObject("select count(*) from outbox where payload like ?", Integer.class,
                "%" + ticket + "%")).as("the ticket itself is stored nowhere").isZero();

        publish(new CloudletEvent.HandoffListening(UUID.randomUUID().toString(), Instant.now(), id, HOST, "10.0.0.5",
                40123));
        JsonNode listening = waitFor(id, s -> !s.path("cloudlet:handoff_endpoint").isNull());
        assertThat(listening.path("cloudlet:handoff_endpoint").asText()).isEqualTo("10.0.0.5:40123");
        assertThat(listening.path("cloudlet:phase").asText()).isEqualTo("awaiting handoff");
        assertThat(show(id, "alpha").has("cloudlet:handoff_ticket")).isFalse();

        HttpResponse<String> withOverlay = post("/v2.1/servers", "alpha", "{\"server\":{\"name\":\"x\",\"imageRef\":"
                + "\"base-disk\",\"flavorRef\":\"c1.m256.d1\",\"metadata\":{\"cloudlet:handoff\":\"receive\","
                + "\"overlay_url\":\"http://phone/a\"}}}");
        assertThat(withOverlay.statusCode()).isEqualTo(400);
    }

    @Test
    void aHandoffNeedsAReachableHandoffServiceAndLeavesTheServerAsItWasWhenThereIsNone() throws Exception {
        heartbeat(List.of(), Instant.now());
        String id = JSON.readTree(post("/v2.1/servers", "alpha", create("c1.m256.d1", null)).body()).path("server")
                .path("id").asText();
        nextCommand();
        publish(new CloudletEvent.ServerLaunched(UUID.randomUUID().toString(), Instant.now(), id, HOST, "10.0.0.5",
                List.of(new CloudletEvent.PortMapping(80, 20001)), 1));
        waitFor(id, s -> s.path("status").asText().equals("ACTIVE"));

        HttpResponse<String> refused = post("/v2.1/servers/" + id + "/action", "alpha", "{\"cloudlet-handoff\":"
                + "{\"handoff_url\":\"http://other:8080\",\"dest_token\":\"t\",\"dest_vmname\":\"n\"}}");
        assertThat(refused.statusCode()).as(refused.body()).isEqualTo(503);
        JsonNode after = show(id, "alpha");
        assertThat(after.path("OS-EXT-STS:task_state").isNull()).isTrue();
        assertThat(after.path("cloudlet:handoff_id").isNull()).isTrue();

        HttpResponse<String> badId = post("/v2.1/servers/" + id + "/action", "alpha", "{\"cloudlet-handoff\":"
                + "{\"handoff_url\":\"http://other:8080\",\"dest_token\":\"t\",\"dest_vmname\":\"n\","
                + "\"handoff_id\":\"42\"}}");
        assertThat(badId.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(badId.body()).path("badRequest").path("message").asText()).contains("UUID");

        // Events of a handoff the server is not in are ignored.
        publish(new CloudletEvent.HandoffCompleted(UUID.randomUUID().toString(), Instant.now(), id,
                UUID.randomUUID().toString(), 1, 2, 3, 4));
        Thread.sleep(500);
        assertThat(show(id, "alpha").path("status").asText()).isEqualTo("ACTIVE");
    }

    private int unpublished() {
        return jdbc.queryForObject("select count(*) from outbox where published_at is null", Integer.class);
    }

    // ---- the stand-ins ----

    private void heartbeat(List<CloudletEvent.InstanceState> instances, Instant at) throws Exception {
        publish(new CloudletEvent.AgentHeartbeat(UUID.randomUUID().toString(), at, HOST, "10.0.0.5", 2, 4096, 4096,
                100, List.of("b1"), instances));
        for (int i = 0; i < 100 && jdbc.queryForObject("select count(*) from agent where host_id = ? and last_seen >= ?",
                Integer.class, HOST, java.sql.Timestamp.from(at.minusMillis(1))) == 0; i++) {
            Thread.sleep(50);
        }
    }

    private void publish(CloudletEvent event) throws IOException {
        MessageProperties properties = new MessageProperties();
        properties.setContentType("application/json");
        rabbit.send("it.cloudlet.events", event.getClass().getSimpleName(),
                new Message(JSON.writerFor(CloudletEvent.class).writeValueAsBytes(event), properties));
    }

    private AgentCommand nextCommand() throws IOException {
        Message message = rabbit.receive(AGENT_QUEUE, 10_000);
        assertThat(message).as("a command on the agent's queue").isNotNull();
        return JSON.readValue(message.getBody(), AgentCommand.class);
    }

    private static String create(String flavor, String overlayUrl) {
        return "{\"server\":{\"name\":\"app\",\"imageRef\":\"base-disk\",\"flavorRef\":\"" + flavor + "\""
                + (overlayUrl == null ? "" : ",\"metadata\":{\"overlay_url\":\"" + overlayUrl + "\"}") + "}}";
    }

    private JsonNode waitFor(String id, Predicate<JsonNode> condition) throws Exception {
        JsonNode server = null;
        for (long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos(); System.nanoTime() < deadline; ) {
            server = show(id, "alpha");
            if (condition.test(server)) {
                return server;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("server never got there: " + server);
    }

    private JsonNode show(String id, String project) throws Exception {
        return JSON.readTree(send("GET", "/v2.1/servers/" + id, project, null).body()).path("server");
    }

    private HttpResponse<String> post(String path, String project, String body) throws Exception {
        return send("POST", path, project, body);
    }

    private HttpResponse<String> send(String method, String path, String project, String body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json");
        if (project != null) {
            request.header("X-Project-Id", project).header("X-Roles", "member");
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpServer imageServiceStub() {
        try {
            HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            server.createContext("/v2/images", exchange -> {
                String path = exchange.getRequestURI().getPath();
                switch (exchange.getRequestMethod()) {
                    case "POST" -> {
                        exchange.getRequestBody().readAllBytes();
                        respond(exchange, 201, "{\"id\":\"ov-1\",\"status\":\"queued\"}");
                    }
                    case "DELETE" -> {
                        DELETED.add(path);
                        respond(exchange, 204, null);
                    }
                    default -> respond(exchange, path.equals("/v2/images/base-disk") ? 200 : 404,
                            path.equals("/v2/images/base-disk") ? "{\"id\":\"base-disk\",\"name\":\"it-base-base_disk\","
                                    + "\"cloudlet_type\":\"base_disk\",\"cloudlet_base_id\":\"b1\",\"status\":\"active\"}" : "{}");
                }
            });
            server.createContext("/v2/cloudlet/bases", exchange -> respond(exchange, 200, "{\"bases\":[{\"base_id\":"
                    + "\"b1\",\"name\":\"it-base\",\"vcpus\":1,\"memory_mib\":256,\"disk_bytes\":134217728,"
                    + "\"images\":{\"base_disk\":\"base-disk\"}}]}"));
            server.start();
            return server;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void respond(com.sun.net.httpserver.HttpExchange exchange, int status, String json)
            throws IOException {
        byte[] body = json == null ? new byte[0] : json.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        exchange.getResponseBody().write(body);
        exchange.close();
    }
}
