package io.cloudlet.platform;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * VM handoff between two cloudlets on this machine, each a whole platform of its own (control
 * plane, agent, ports, home, database, broker prefix), through the public APIs only.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HandoffIT {

    private static final Path WORK = Path.of("target", "e2e-handoff").toAbsolutePath();
    private static final Pattern COUNTER = Pattern.compile("cloudlet-guest: counter (\\d+)");

    private Platform source;
    private Platform destination;
    private String sourceToken;
    private String destinationToken;
    private String baseImage;
    private String flavor;
    private Path basePackage;
    private boolean destinationHasBase;

    @BeforeAll
    void startTwoCloudlets() throws Exception {
        basePackage = Platform.basePackage(Path.of("target", "e2e").toAbsolutePath());
        source = new Platform(WORK.resolve("source"), 18400, "src");
        destination = new Platform(WORK.resolve("destination"), 18600, "dst");
        source.up();
        destination.up();
        sourceToken = source.adminToken();
        destinationToken = destination.adminToken();
        baseImage = source.importBase(sourceToken, basePackage);
        flavor = source.json("GET", "/v2.1/flavors", sourceToken, null).json().path("flavors").get(0).path("id")
                .asText();
    }

    @AfterAll
    void stopBoth() throws Exception {
        for (Platform platform : new Platform[] {source, destination}) {
            if (platform != null) {
                platform.close();
            }
        }
    }

    @Test
    @Order(1)
    void aDestinationWithoutTheBaseVmIsRefusedAndTheServerRunsOn() throws Exception {
        String server = launch("no-base");

        JsonNode handoff = finished(handOff(server, destinationToken, null, null));

        assertThat(handoff.path("state").asText()).isEqualTo("failed");
        assertThat(handoff.path("message").asText()).contains("does not hold base VM");
        assertRunsOnWithFault(server, "does not hold base VM");
        assertThat(destination.json("GET", "/v2.1/servers", destinationToken, null).json().path("servers")).isEmpty();
        delete(server);
    }

    @Test
    @Order(2)
    void aWrongTokenIsRefusedAndARetryWithTheSameIdStartsNothing() throws Exception {
        ensureBaseAtDestination();
        String server = launch("wrong-token");
        String id = UUID.randomUUID().toString();

        JsonNode handoff = finished(handOff(server, "not-a-token", id, null));
        assertThat(handoff.path("state").asText()).isEqualTo("failed");
        assertThat(handoff.path("message").asText()).contains("does not accept dest_token");
        assertRunsOnWithFault(server, "does not accept dest_token");

        Platform.Reply retried = source.json("POST", "/v2.1/servers/" + server + "/action", sourceToken,
                handoffBody(destinationToken, id, null));
        assertThat(retried.status()).as(retried.body()).isEqualTo(202);
        assertThat(retried.json().path("handoff").path("id").asText()).isEqualTo(id);
        assertThat(source.json("GET", "/v2/cloudlet/handoffs/" + id, sourceToken, null).json().path("handoff")
                .path("state").asText()).isEqualTo("failed");
        assertThat(source.json("GET", "/v2.1/servers/" + server, sourceToken, null).json().path("server")
                .path("OS-EXT-STS:task_state").isNull()).isTrue();

        Platform.Reply malformed = source.json("POST", "/v2.1/servers/" + server + "/action", sourceToken,
                "{\"cloudlet-handoff\":{\"handoff_url\":\"ftp://x\",\"dest_token\":\"t\",\"dest_vmname\":\"n\"}}");
        assertThat(malformed.status()).isEqualTo(400);
        assertThat(malformed.json().path("badRequest").path("message").asText()).contains("handoff_url");
        delete(server);
    }

    @Test
    @Order(3)
    void aRunningGuestIsHandedOffAndCountsOnAtTheDestinationWhereItsServiceAnswers() throws Exception {
        ensureBaseAtDestination();
        String server = launch("mobile");
        JsonNode running = source.awaitServer(sourceToken, server, active(), Duration.ofMinutes(3));
        String installed = Platform.httpGet("http://" + running.path("cloudlet:endpoint").asText()
                + "/cgi-bin/install?mb=8&token=handoff-" + server, Duration.ofMinutes(2));
        int before = lastCounter(source.console(server));

        JsonNode handoff = finished(handOff(server, destinationToken, null, null));

        assertThat(handoff.path("state").asText()).as(handoff.toString()).isEqualTo("completed");
        assertThat(handoff.path("passes").asInt()).isGreaterThanOrEqualTo(2);
        assertThat(handoff.path("downtime_ms").asLong()).isPositive().isLessThan(5_000);
        String moved = handoff.path("destination_server_id").asText();
        JsonNode arrived = destination.awaitServer(destinationToken, moved, active(), Duration.ofMinutes(1));
        assertThat(arrived.path("name").asText()).isEqualTo("mobile-moved");
        // The application's state travelled: the service at the destination's forwarded port verifies it.
        assertThat(Platform.httpGet("http://" + arrived.path("cloudlet:endpoint").asText() + "/cgi-bin/verify",
                Duration.ofMinutes(1))).isEqualTo(installed);
        // No restart: the counter goes on from where it was, and the boot banner never appears again.
        int first = firstCounter(destination.console(moved));
        assertThat(first).isGreaterThan(before);
        assertThat(Files.readString(destination.console(moved))).doesNotContain("cloudlet-guest: ready");
        // The source instance is gone.
        assertThat(source.json("GET", "/v2.1/servers/" + server, sourceToken, null).status()).isEqualTo(404);
        assertThat(Platform.domainsNamed(server)).isEmpty();
        assertThat(source.state.resolve("agent-home/instances/" + server)).doesNotExist();

        assertThat(destination.json("DELETE", "/v2.1/servers/" + moved, destinationToken, null).status())
                .isEqualTo(204);
    }

    @Test
    @Order(4)
    void aDestinationAgentThatDiesMidStreamLeavesTheServerRunningAtTheSourceAndNothingThere() throws Exception {
        ensureBaseAtDestination();
        String server = launch("interrupted");
        JsonNode running = source.awaitServer(sourceToken, server, active(), Duration.ofMinutes(3));
        String endpoint = running.path("cloudlet:endpoint").asText();
        Platform.httpGet("http://" + endpoint + "/cgi-bin/install?mb=8&token=cut-" + server, Duration.ofMinutes(2));

        // 16 Mbit/s: the first pass takes several seconds, time enough to kill the receiving agent.
        String id = handOff(server, destinationToken, null, 16);
        JsonNode handoff = null;
        for (long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos(); System.nanoTime() < deadline; ) {
            handoff = source.json("GET", "/v2/cloudlet/handoffs/" + id, sourceToken, null).json().path("handoff");
            if (handoff.path("state").asText().equals("streaming") && handoff.path("progress").asInt() > 15) {
                break;
            }
            Thread.sleep(50);
        }
        assertThat(handoff.path("state").asText()).as(handoff.toString()).isEqualTo("streaming");
        destination.kill("compute-agent");

        handoff = finished(id);
        assertThat(handoff.path("state").asText()).isEqualTo("failed");
        assertRunsOnWithFault(server, "runs on here");
        assertThat(Platform.httpGet("http://" + endpoint + "/", Duration.ofSeconds(30))).contains("cloudlet test guest");
        String receiving = handoff.path("destination_server_id").asText();
        assertThat(destination.json("GET", "/v2.1/servers/" + receiving, destinationToken, null).status())
                .isEqualTo(404);

        // The agent comes back, reconciles its home, and nothing of the receiving server is left.
        destination.restartMissing();
        for (long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
             !Platform.domainsNamed(receiving).isEmpty() && System.nanoTime() < deadline; ) {
            Thread.sleep(200);
        }
        assertThat(Platform.domainsNamed(receiving)).isEmpty();
        assertThat(destination.state.resolve("agent-home/instances/" + receiving)).doesNotExist();
        delete(server);
    }

    // ---- helpers ----

    private void ensureBaseAtDestination() throws Exception {
        if (!destinationHasBase) {
            destination.importBase(destinationToken, basePackage);
            destinationHasBase = true;
        }
    }

    private String launch(String name) throws Exception {
        Platform.Reply reply = source.json("POST", "/v2.1/servers", sourceToken, "{\"server\":{\"name\":\"" + name
                + "\",\"imageRef\":\"" + baseImage + "\",\"flavorRef\":\"" + flavor + "\"}}");
        assertThat(reply.status()).as(reply.body()).isEqualTo(202);
        String id = reply.json().path("server").path("id").asText();
        source.awaitServer(sourceToken, id, active(), Duration.ofMinutes(3));
        return id;
    }

    private String handOff(String server, String token, String handoffId, Integer maxMbps) throws Exception {
        Platform.Reply reply = source.json("POST", "/v2.1/servers/" + server + "/action", sourceToken,
                handoffBody(token, handoffId, maxMbps));
        assertThat(reply.status()).as(reply.body()).isEqualTo(202);
        return reply.json().path("handoff").path("id").asText();
    }

    private String handoffBody(String token, String handoffId, Integer maxMbps) {
        return "{\"cloudlet-handoff\":{\"handoff_url\":\"" + destination.gateway + "\",\"dest_token\":\"" + token
                + "\",\"dest_vmname\":\"mobile-moved\"" + (handoffId == null ? "" : ",\"handoff_id\":\"" + handoffId
                + "\"") + (maxMbps == null ? "" : ",\"max_mbps\":" + maxMbps) + "}}";
    }

    private JsonNode finished(String id) throws Exception {
        JsonNode handoff = null;
        for (long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos(); System.nanoTime() < deadline; ) {
            handoff = source.json("GET", "/v2/cloudlet/handoffs/" + id, sourceToken, null).json().path("handoff");
            String state = handoff.path("state").asText();
            if (state.equals("completed") || state.equals("failed")) {
                return handoff;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("handoff " + id + " did not finish: " + handoff);
    }

    private void assertRunsOnWithFault(String server, String fault) throws Exception {
        JsonNode shown = source.awaitServer(sourceToken, server,
                s -> s.path("OS-EXT-STS:task_state").isNull(), Duration.ofMinutes(1));
        assertThat(shown.path("status").asText()).isEqualTo("ACTIVE");
        assertThat(shown.path("fault").path("message").asText()).contains(fault);
    }

    private void delete(String server) throws Exception {
        assertThat(source.json("DELETE", "/v2.1/servers/" + server, sourceToken, null).status()).isEqualTo(204);
    }

    private static Predicate<JsonNode> active() {
        return s -> {
            if (s.path("status").asText().equals("ERROR")) {
                throw new AssertionError("server went to ERROR: " + s);
            }
            return s.path("status").asText().equals("ACTIVE") && s.path("OS-EXT-STS:task_state").isNull();
        };
    }

    private static int lastCounter(Path console) throws Exception {
        Matcher matcher = COUNTER.matcher(Files.readString(console));
        int last = -1;
        while (matcher.find()) {
            last = Integer.parseInt(matcher.group(1));
        }
        return last;
    }

    private static int firstCounter(Path console) throws Exception {
        for (long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos(); System.nanoTime() < deadline; ) {
            Matcher matcher = COUNTER.matcher(Files.readString(console));
            if (matcher.find()) {
                return Integer.parseInt(matcher.group(1));
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no counter on " + console);
    }
}
