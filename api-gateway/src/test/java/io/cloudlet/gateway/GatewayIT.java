package io.cloudlet.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The gateway against the real local PostgreSQL, routing to a stub upstream that echoes the
 * identity headers it receives: Keystone tokens, admin calls, and that the services see only the
 * identity the token proves, never one the client claims.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "spring.datasource.url=jdbc:postgresql://127.0.0.1:5432/cloudlet_it?currentSchema=identity",
        "cloudlet.gateway.admin-password=it-admin-password",
        "cloudlet.gateway.token-secret=it-secret-it-secret-it-secret-it-secret"})
class GatewayIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static HttpServer UPSTREAM = echo(0);

    @LocalServerPort
    int port;

    private final HttpClient http = HttpClient.newHttpClient();

    @DynamicPropertySource
    static void upstream(DynamicPropertyRegistry registry) {
        String url = "http://127.0.0.1:" + UPSTREAM.getAddress().getPort();
        registry.add("cloudlet.gateway.synthesis-service-url", () -> url);
        registry.add("cloudlet.gateway.image-service-url", () -> url);
    }

    @AfterAll
    static void stop() {
        UPSTREAM.stop(0);
    }

    @Test
    void passwordAuthenticationGivesATokenWithACatalogue() throws Exception {
        HttpResponse<String> reply = send("POST", "/v3/auth/tokens", null, password("admin", "it-admin-password",
                "admin"));
        assertThat(reply.statusCode()).as(reply.body()).isEqualTo(201);
        assertThat(reply.headers().firstValue("X-Subject-Token")).isPresent();
        JsonNode token = JSON.readTree(reply.body()).path("token");
        assertThat(token.path("project").path("name").asText()).isEqualTo("admin");
        assertThat(token.path("roles").findValuesAsText("name")).contains("admin");
        assertThat(token.path("catalog").findValuesAsText("type")).contains("compute", "image", "identity");

        String rescoped = "{\"auth\":{\"identity\":{\"methods\":[\"token\"],\"token\":{\"id\":\""
                + reply.headers().firstValue("X-Subject-Token").get() + "\"}}}}";
        assertThat(send("POST", "/v3/auth/tokens", null, rescoped).statusCode()).isEqualTo(201);
        assertThat(send("POST", "/v3/auth/tokens", null, password("admin", "wrong", "admin")).statusCode())
                .isEqualTo(401);
        assertThat(send("POST", "/v3/auth/tokens", null, "{\"auth\":").statusCode()).isEqualTo(400);
    }

    @Test
    void servicesSeeTheTokensIdentityAndNotTheOneAClientClaims() throws Exception {
        String admin = token("admin", "it-admin-password", "admin");
        HttpRequest request = HttpRequest.newBuilder(uri("/v2.1/servers")).header("X-Auth-Token", admin)
                .header("X-Project-Id", "someone-else").header("X-Roles", "root").build();
        JsonNode seen = JSON.readTree(http.send(request, HttpResponse.BodyHandlers.ofString()).body());
        assertThat(seen.path("project").asText()).isNotEqualTo("someone-else").isNotBlank();
        assertThat(seen.path("roles").asText()).contains("admin").doesNotContain("root");
        assertThat(seen.path("request").asText()).startsWith("req-");

        HttpResponse<String> nova = send("GET", "/v2.1/servers", null, null);
        assertThat(nova.statusCode()).isEqualTo(401);
        assertThat(JSON.readTree(nova.body()).path("unauthorized").path("code").asInt()).isEqualTo(401);
        String expired = new io.cloudlet.gateway.identity.Tokens("it-secret-it-secret-it-secret-it-secret",
                java.time.Duration.ofMinutes(5), java.time.Clock.offset(java.time.Clock.systemUTC(),
                java.time.Duration.ofMinutes(-10))).issue("u", "p", java.util.List.of("admin"),
                java.util.List.of("password"), null);
        HttpResponse<String> late = send("GET", "/v2.1/servers", expired, null);
        assertThat(late.statusCode()).isEqualTo(401);
        assertThat(late.body()).contains("expired");
        HttpResponse<String> glance = send("GET", "/v2/images", "forged.token", null);
        assertThat(glance.statusCode()).isEqualTo(401);
        assertThat(glance.headers().firstValue("Content-Type").orElse("")).startsWith("application/problem+json");
    }

    @Test
    void anUnreachableServiceIs503InTheRoutesShape() throws Exception {
        String admin = token("admin", "it-admin-password", "admin");
        UPSTREAM.stop(0);
        try {
            HttpResponse<String> nova = send("GET", "/v2.1/servers", admin, null);
            assertThat(nova.statusCode()).isEqualTo(503);
            assertThat(JSON.readTree(nova.body()).path("serviceUnavailable").path("code").asInt()).isEqualTo(503);
            HttpResponse<String> glance = send("GET", "/v2/images", admin, null);
            assertThat(glance.statusCode()).isEqualTo(503);
            assertThat(JSON.readTree(glance.body()).path("status").asInt()).isEqualTo(503);
        } finally {
            restartUpstream();
        }
    }

    @Test
    void onlyAdminsCreateProjectsAndUsers() throws Exception {
        String admin = token("admin", "it-admin-password", "admin");
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        HttpResponse<String> project = send("POST", "/v3/projects", admin, "{\"project\":{\"name\":\"p-" + suffix + "\"}}");
        assertThat(project.statusCode()).isEqualTo(201);
        String projectId = JSON.readTree(project.body()).path("project").path("id").asText();
        assertThat(send("POST", "/v3/projects", admin, "{\"project\":{\"name\":\"p-" + suffix + "\"}}").statusCode())
                .isEqualTo(409);
        assertThat(send("POST", "/v3/users", admin, "{\"user\":{\"name\":\"u-" + suffix + "\",\"password\":"
                + "\"member-pass\",\"default_project_id\":\"" + projectId + "\"}}").statusCode()).isEqualTo(201);

        String member = token("u-" + suffix, "member-pass", "p-" + suffix);
        assertThat(send("POST", "/v3/projects", member, "{\"project\":{\"name\":\"x-" + suffix + "\"}}").statusCode())
                .isEqualTo(403);
        assertThat(send("GET", "/v3/users", member, null).statusCode()).isEqualTo(403);
    }

    private String token(String user, String password, String project) throws Exception {
        HttpResponse<String> reply = send("POST", "/v3/auth/tokens", null, password(user, password, project));
        assertThat(reply.statusCode()).as(reply.body()).isEqualTo(201);
        return reply.headers().firstValue("X-Subject-Token").orElseThrow();
    }

    private static String password(String user, String password, String project) {
        return "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"" + user
                + "\",\"domain\":{\"name\":\"Default\"},\"password\":\"" + password + "\"}}},\"scope\":{\"project\":"
                + "{\"name\":\"" + project + "\",\"domain\":{\"name\":\"Default\"}}}}}";
    }

    private HttpResponse<String> send(String method, String path, String token, String body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri(path)).header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            request.header("X-Auth-Token", token);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    private static void restartUpstream() {
        UPSTREAM = echo(UPSTREAM.getAddress().getPort());
    }

    private static HttpServer echo(int port) {
        try {
            HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
            server.createContext("/", exchange -> {
                var headers = exchange.getRequestHeaders();
                byte[] body = JSON.writeValueAsBytes(java.util.Map.of(
                        "project", String.valueOf(headers.getFirst("X-Project-Id")),
                        "roles", String.valueOf(headers.getFirst("X-Roles")),
                        "request", String.valueOf(headers.getFirst("X-Request-Id"))));
                exchange.getResponseHeaders().add("Content-Type", "application/json");
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
                exchange.close();
            });
            server.start();
            return server;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
