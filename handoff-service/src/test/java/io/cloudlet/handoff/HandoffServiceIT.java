package io.cloudlet.handoff;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.cloudlet.contracts.AgentCommand;
import io.cloudlet.contracts.CloudletEvent;
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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
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

/**
 * The handoff service against real PostgreSQL and RabbitMQ, with a stand-in destination cloudlet
 * (an HTTP stub of its Nova and Glance APIs) and a stand-in source agent (a queue bound like an
 * agent's; events published to the events exchange).
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "spring.datasource.url=jdbc:postgresql://127.0.0.1:5432/cloudlet_it?currentSchema=handoff",
        "CLOUDLET_MQ_PREFIX=hit.", "cloudlet.handoff.prepare-timeout=5s"})
class HandoffServiceIT {

    private static final ObjectMapper JSON = new ObjectMapper().findAndRegisterModules();
    private static final String HOST = "hit-host";
    private static final String AGENT_QUEUE = "hit.agent-commands." + HOST;
    private static final String FAILURES_QUEUE = "hit.handoff-failures";
    private static final String TOKEN = "destination-token";
    private static final List<String> CALLS = new CopyOnWriteArrayList<>();
    private static volatile boolean endpointReady = true;
    private static final HttpServer DESTINATION = destinationStub();

    @LocalServerPort
    int port;
    @Autowired
    JdbcTemplate jdbc;
    @Autowired
    RabbitTemplate rabbit;
    @Autowired
    AmqpAdmin admin;

    private final HttpClient http = HttpClient.newHttpClient();

    @AfterAll
    static void stopStub() {
        DESTINATION.stop(0);
    }

    @BeforeEach
    void cleanState() {
        CALLS.clear();
        endpointReady = true;
        TopicExchange commands = new TopicExchange("hit.cloudlet.agent-commands", true, false);
        admin.declareExchange(commands);
        Queue agent = new Queue(AGENT_QUEUE, false, false, false);
        admin.declareQueue(agent);
        admin.declareBinding(BindingBuilder.bind(agent).to(commands).with(HOST));
        admin.purgeQueue(AGENT_QUEUE, false);
        TopicExchange events = new TopicExchange("hit.cloudlet.events", true, false);
        admin.declareExchange(events);
        Queue failures = new Queue(FAILURES_QUEUE, false, false, false);
        admin.declareQueue(failures);
        admin.declareBinding(BindingBuilder.bind(failures).to(events).with("HandoffFailed"));
        admin.purgeQueue(FAILURES_QUEUE, false);
    }

    @Test
    void aCheckedDestinationPreparesAReceiverAndTheSourceAgentGetsTheTicketButNeverTheToken() throws Exception {
        String id = UUID.randomUUID().toString();
        HttpResponse<String> started = start(id, "server-1", TOKEN);
        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);

        AgentCommand.HandOffServer command = (AgentCommand.HandOffServer) nextCommand(AGENT_QUEUE);
        assertThat(command.serverId()).isEqualTo("server-1");
        assertThat(command.handoffId()).isEqualTo(id);
        assertThat(command.address()).isEqualTo("10.9.8.7");
        assertThat(command.port()).isEqualTo(41000);
        assertThat(command.ticket()).isEqualTo("the-ticket");
        assertThat(CALLS).contains("POST /v2.1/servers token=" + TOKEN);
        JsonNode streaming = handoff(id, "alpha");
        assertThat(streaming.path("state").asText()).isEqualTo("streaming");
        assertThat(streaming.path("destination_server_id").asText()).isEqualTo("receiving-1");
        assertThat(jdbc.queryForObject("select count(*) from handoff where cast(handoff.* as text) like ?",
                Integer.class, "%" + TOKEN + "%")).as("the token is stored nowhere").isZero();

        // A retried start with the same id answers the same handoff and sends nothing more.
        assertThat(start(id, "server-1", TOKEN).statusCode()).isEqualTo(202);
        assertThat(rabbit.receive(AGENT_QUEUE, 500)).isNull();
        assertThat(start(id, "server-2", TOKEN).statusCode()).isEqualTo(409);

        publish(new CloudletEvent.HandoffProgressed(UUID.randomUUID().toString(), Instant.now(), "server-1", id,
                "pass 1", 50));
        awaitHandoff(id, h -> h.path("phase").asText().equals("pass 1"));
        publish(new CloudletEvent.HandoffCompleted(UUID.randomUUID().toString(), Instant.now(), "server-1", id,
                12_345, 3, 4_000, 300));
        JsonNode done = awaitHandoff(id, h -> h.path("state").asText().equals("completed"));
        assertThat(done.path("bytes").asLong()).isEqualTo(12_345);
        assertThat(done.path("downtime_ms").asLong()).isEqualTo(300);
        assertThat(done.path("progress").asInt()).isEqualTo(100);
        assertThat(send("GET", "/v2/cloudlet/handoffs/" + id, "beta").statusCode()).isEqualTo(404);
        assertThat(send("GET", "/v2/cloudlet/handoffs/" + id, null).statusCode()).isEqualTo(401);
        assertThat(CALLS).noneMatch(call -> call.startsWith("DELETE"));
    }

    @Test
    void aTokenTheDestinationRefusesFailsTheHandoffAndSaysSoToTheSource() throws Exception {
        String id = UUID.randomUUID().toString();
        assertThat(start(id, "server-3", "wrong").statusCode()).isEqualTo(202);

        JsonNode failed = awaitHandoff(id, h -> h.path("state").asText().equals("failed"));
        assertThat(failed.path("message").asText()).contains("does not accept dest_token");
        CloudletEvent.HandoffFailed event = (CloudletEvent.HandoffFailed) nextEvent(FAILURES_QUEUE);
        assertThat(event.serverId()).isEqualTo("server-3");
        assertThat(event.handoffId()).isEqualTo(id);
        assertThat(rabbit.receive(AGENT_QUEUE, 200)).as("nothing is asked of the source agent").isNull();
    }

    @Test
    void aFailureReportedByTheSourceAgentDeletesTheReceivingServer() throws Exception {
        String id = UUID.randomUUID().toString();
        assertThat(start(id, "server-4", TOKEN).statusCode()).isEqualTo(202);
        nextCommand(AGENT_QUEUE);

        publish(new CloudletEvent.HandoffFailed(UUID.randomUUID().toString(), Instant.now(), "server-4", id,
                "connection reset"));

        JsonNode failed = awaitHandoff(id, h -> h.path("state").asText().equals("failed"));
        assertThat(failed.path("message").asText()).isEqualTo("connection reset");
        for (int i = 0; i < 100 && !CALLS.contains("DELETE /v2.1/servers/receiving-1 token=" + TOKEN); i++) {
            Thread.sleep(50);
        }
        assertThat(CALLS).contains("DELETE /v2.1/servers/receiving-1 token=" + TOKEN);
    }

    @Test
    void aDestinationThatNeverListensTimesOutAndIsCleanedUp() throws Exception {
        endpointReady = false;
        String id = UUID.randomUUID().toString();
        assertThat(start(id, "server-5", TOKEN).statusCode()).isEqualTo(202);

        JsonNode failed = awaitHandoff(id, h -> h.path("state").asText().equals("failed"));
        assertThat(failed.path("message").asText()).contains("did not get ready");
        for (int i = 0; i < 100 && CALLS.stream().noneMatch(c -> c.startsWith("DELETE")); i++) {
            Thread.sleep(50);
        }
        assertThat(CALLS).contains("DELETE /v2.1/servers/receiving-1 token=" + TOKEN);
    }

    // ---- helpers ----

    private HttpResponse<String> start(String id, String server, String token) throws Exception {
        String body = JSON.writeValueAsString(new Orchestrator.Start(id, server, "alpha", HOST, "b1", "c1.m256.d1",
                List.of(80), "http://127.0.0.1:" + DESTINATION.getAddress().getPort(), token, "moved", 0));
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/internal/handoffs"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode handoff(String id, String project) throws Exception {
        return JSON.readTree(send("GET", "/v2/cloudlet/handoffs/" + id, project).body()).path("handoff");
    }

    private JsonNode awaitHandoff(String id, Predicate<JsonNode> condition) throws Exception {
        JsonNode handoff = null;
        for (long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos(); System.nanoTime() < deadline; ) {
            handoff = handoff(id, "alpha");
            if (condition.test(handoff)) {
                return handoff;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("handoff never got there: " + handoff);
    }

    private HttpResponse<String> send(String method, String path, String project) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (project != null) {
            request.header("X-Project-Id", project).header("X-Roles", "member");
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private void publish(CloudletEvent event) throws IOException {
        MessageProperties properties = new MessageProperties();
        properties.setContentType("application/json");
        rabbit.send("hit.cloudlet.events", event.getClass().getSimpleName(),
                new Message(JSON.writerFor(CloudletEvent.class).writeValueAsBytes(event), properties));
    }

    private AgentCommand nextCommand(String queue) throws IOException {
        Message message = rabbit.receive(queue, 10_000);
        assertThat(message).as("a command on " + queue).isNotNull();
        return JSON.readValue(message.getBody(), AgentCommand.class);
    }

    private CloudletEvent nextEvent(String queue) throws IOException {
        Message message = rabbit.receive(queue, 10_000);
        assertThat(message).as("an event on " + queue).isNotNull();
        return JSON.readValue(message.getBody(), CloudletEvent.class);
    }

    /** The destination's public API as far as a handoff uses it; it accepts only {@link #TOKEN}. */
    private static HttpServer destinationStub() {
        try {
            HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            server.createContext("/", exchange -> {
                String token = exchange.getRequestHeaders().getFirst("X-Auth-Token");
                String path = exchange.getRequestURI().getPath();
                CALLS.add(exchange.getRequestMethod() + " " + path + " token=" + token);
                exchange.getRequestBody().readAllBytes();
                if (!TOKEN.equals(token)) {
                    respond(exchange, 401, "{\"error\":{\"code\":401,\"message\":\"The request you have made requires "
                            + "authentication.\"}}");
                } else if (path.equals("/v2/images")) {
                    respond(exchange, 200, "{\"images\":[{\"id\":\"dest-base-disk\",\"cloudlet_type\":\"base_disk\","
                            + "\"cloudlet_base_id\":\"b1\"}]}");
                } else if (path.equals("/v2.1/flavors/c1.m256.d1")) {
                    respond(exchange, 200, "{\"flavor\":{\"id\":\"c1.m256.d1\"}}");
                } else if (path.equals("/v2.1/servers") && exchange.getRequestMethod().equals("POST")) {
                    respond(exchange, 202, "{\"server\":{\"id\":\"receiving-1\",\"cloudlet:handoff_ticket\":"
                            + "\"the-ticket\"}}");
                } else if (path.equals("/v2.1/servers/receiving-1") && exchange.getRequestMethod().equals("GET")) {
                    respond(exchange, 200, "{\"server\":{\"id\":\"receiving-1\",\"status\":\"BUILD\","
                            + "\"cloudlet:handoff_endpoint\":" + (endpointReady ? "\"10.9.8.7:41000\"" : "null") + "}}");
                } else if (exchange.getRequestMethod().equals("DELETE")) {
                    exchange.sendResponseHeaders(204, -1);
                    exchange.close();
                } else {
                    respond(exchange, 404, "{\"itemNotFound\":{\"code\":404,\"message\":\"not here\"}}");
                }
            });
            server.start();
            return server;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void respond(HttpExchange exchange, int status, String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, body.length);
        exchange.getResponseBody().write(body);
        exchange.close();
    }
}
