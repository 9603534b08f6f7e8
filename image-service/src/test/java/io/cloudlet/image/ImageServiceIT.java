package io.cloudlet.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cloudlet.engine.FileTrees;
import io.cloudlet.engine.basevm.BaseVm;
import io.cloudlet.engine.basevm.BaseVmDescription;
import io.cloudlet.engine.basevm.BaseVmPackage;
import io.cloudlet.engine.overlay.Codec;
import io.cloudlet.engine.overlay.OverlayCreator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The image service against the real local PostgreSQL: base VM import (admin only, validated,
 * idempotent), Glance-shaped listing, overlay registration, upload validation and ranged download,
 * and project isolation.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "spring.datasource.url=jdbc:postgresql://127.0.0.1:5432/cloudlet_it?currentSchema=image",
        "cloudlet.image.store=target/it-store"})
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ImageServiceIT {

    private static final Path WORK = Path.of("target", "it-work").toAbsolutePath();
    private static final ObjectMapper JSON = new ObjectMapper();

    @LocalServerPort
    int port;
    @Autowired
    JdbcTemplate jdbc;

    private final HttpClient http = HttpClient.newHttpClient();
    private BaseVm base;
    private byte[] basePackage;
    private Path overlay;

    @BeforeAll
    void makeABaseVmAndAnOverlay() throws IOException {
        FileTrees.deleteRecursively(WORK);
        Path dir = Files.createDirectories(WORK.resolve("base"));
        Random random = new Random(7);
        byte[] disk = new byte[1 << 20];
        random.nextBytes(disk);
        Files.write(dir.resolve(BaseVm.DISK), disk);
        byte[] memory = new byte[1 << 20];
        random.nextBytes(memory);
        Files.write(dir.resolve(BaseVm.MEMORY), memory);
        base = BaseVm.seal(dir, new BaseVmDescription("it-base", "pc-i440fx-7.2", "core2duo", "7.2.22",
                "{\"vcpus\":2,\"memoryMib\":1}", List.of()), 1);
        Path pkg = WORK.resolve("base.zip");
        BaseVmPackage.export(base, pkg);
        basePackage = Files.readAllBytes(pkg);

        Path launch = Files.createDirectories(WORK.resolve("launch"));
        byte[] changed = disk.clone();
        Arrays.fill(changed, 4096, 8192, (byte) 42);
        Files.write(launch.resolve("disk.raw"), changed);
        Files.write(launch.resolve("memory.raw"), memory);
        overlay = WORK.resolve("app.overlay");
        OverlayCreator.create(base, launch.resolve("disk.raw"), launch.resolve("memory.raw"),
                OverlayCreator.Options.of(Codec.ZSTD), overlay);
    }

    @BeforeEach
    void emptyCatalogue() {
        jdbc.update("delete from image");
        jdbc.update("delete from base_vm");
    }

    @Test
    void adminImportsABaseVmOnceAndItIsListedAsFourPublicImages() throws Exception {
        HttpResponse<String> refused = send("POST", "/v2/cloudlet/bases", "tenant", "member", "application/zip",
                basePackage, null);
        assertThat(refused.statusCode()).isEqualTo(403);

        JsonNode first = json(send("POST", "/v2/cloudlet/bases", "admin", "admin", "application/zip", basePackage,
                null), 201);
        JsonNode again = json(send("POST", "/v2/cloudlet/bases", "admin", "admin", "application/zip", basePackage,
                null), 201);
        assertThat(again.path("base").path("base_id")).isEqualTo(first.path("base").path("base_id"));
        assertThat(first.path("base").path("vcpus").asInt()).isEqualTo(2);

        JsonNode images = json(send("GET", "/v2/images", "tenant", "member", null, null, null), 200).path("images");
        assertThat(images).hasSize(4);
        assertThat(images.findValuesAsText("cloudlet_type"))
                .containsExactlyInAnyOrder("base_disk", "base_memory", "disk_hash", "memory_hash");
        assertThat(images.findValuesAsText("cloudlet_base_id")).containsOnly(base.baseId());
        assertThat(images.findValuesAsText("visibility")).containsOnly("public");
    }

    @Test
    void aBaseVmPackageCanBeImportedFromAUrl() throws Exception {
        com.sun.net.httpserver.HttpServer server = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/base.zip", exchange -> {
            exchange.sendResponseHeaders(200, basePackage.length);
            exchange.getResponseBody().write(basePackage);
            exchange.close();
        });
        server.start();
        try {
            String url = "http://127.0.0.1:" + server.getAddress().getPort();
            JsonNode imported = json(send("POST", "/v2/cloudlet/bases", "admin", "admin", "application/json",
                    ("{\"url\":\"" + url + "/base.zip\"}").getBytes(), null), 201);
            assertThat(imported.path("base").path("base_id").asText()).isEqualTo(base.baseId());
            HttpResponse<String> missing = send("POST", "/v2/cloudlet/bases", "admin", "admin", "application/json",
                    ("{\"url\":\"" + url + "/nothing.zip\"}").getBytes(), null);
            assertThat(missing.statusCode()).isEqualTo(400);
            assertThat(missing.body()).contains("404");
            assertThat(send("POST", "/v2/cloudlet/bases", "admin", "admin", "application/json",
                    "{\"url\":\"file:///etc/passwd\"}".getBytes(), null).statusCode()).isEqualTo(400);
        } finally {
            server.stop(0);
        }
    }

    @Test
    void anotherBaseVmUnderATakenNameIsAConflictAndLeavesNoBlobs() throws Exception {
        json(send("POST", "/v2/cloudlet/bases", "admin", "admin", "application/zip", basePackage, null), 201);
        long blobsBefore = countBlobs();
        Path dir = Files.createDirectories(WORK.resolve("other"));
        byte[] disk = new byte[1 << 20];
        new Random(99).nextBytes(disk);
        Files.write(dir.resolve(BaseVm.DISK), disk);
        Files.write(dir.resolve(BaseVm.MEMORY), new byte[1 << 20]);
        BaseVm other = BaseVm.seal(dir, new BaseVmDescription("it-base", "pc-i440fx-7.2", "core2duo", "7.2.22",
                "{\"vcpus\":1,\"memoryMib\":1}", List.of()), 1);
        Path pkg = WORK.resolve("other.zip");
        BaseVmPackage.export(other, pkg);

        HttpResponse<String> reply = send("POST", "/v2/cloudlet/bases", "admin", "admin", "application/zip",
                Files.readAllBytes(pkg), null);
        assertThat(reply.statusCode()).isEqualTo(409);
        assertThat(reply.body()).contains("it-base");
        assertThat(countBlobs()).isEqualTo(blobsBefore);
    }

    private static long countBlobs() throws IOException {
        try (var walk = Files.walk(Path.of("target/it-store/blobs"))) {
            return walk.filter(Files::isRegularFile).count();
        }
    }

    @Test
    void aBrokenPackageIsRefusedAndLeavesNothing() throws Exception {
        byte[] truncated = Arrays.copyOf(basePackage, basePackage.length / 2);
        HttpResponse<String> reply = send("POST", "/v2/cloudlet/bases", "admin", "admin", "application/zip",
                truncated, null);
        assertThat(reply.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(reply.body()).path("detail").asText()).isNotBlank();
        assertThat(jdbc.queryForObject("select count(*) from base_vm", Integer.class)).isZero();
        try (var staging = Files.list(Path.of("target/it-store/staging"))) {
            assertThat(staging).isEmpty();
        }
    }

    @Test
    void theBaseVmPackageServedToAgentsImportsAgain() throws Exception {
        send("POST", "/v2/cloudlet/bases", "admin", "admin", "application/zip", basePackage, null);
        HttpResponse<byte[]> pkg = http.send(HttpRequest.newBuilder(uri("/v2/cloudlet/bases/" + base.baseId()
                + "/package")).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(pkg.statusCode()).isEqualTo(200);
        BaseVm copy = BaseVmPackage.importFrom(new ByteArrayInputStream(pkg.body()), WORK.resolve("agent-store"), 1);
        assertThat(copy.baseId()).isEqualTo(base.baseId());
    }

    @Test
    void anOverlayIsValidatedOnUploadServedWithRangesAndPrivateToItsProject() throws Exception {
        send("POST", "/v2/cloudlet/bases", "admin", "admin", "application/zip", basePackage, null);
        String id = json(send("POST", "/v2/images", "alpha", "member", "application/json",
                "{\"name\":\"app\",\"cloudlet_type\":\"overlay\"}".getBytes(), null), 201).path("id").asText();

        HttpResponse<String> garbage = send("PUT", "/v2/images/" + id + "/file", "alpha", "member",
                "application/octet-stream", "not an overlay".getBytes(), null);
        assertThat(garbage.statusCode()).isEqualTo(400);
        assertThat(json(send("GET", "/v2/images/" + id, "alpha", "member", null, null, null), 200)
                .path("status").asText()).isEqualTo("queued");

        byte[] data = Files.readAllBytes(overlay);
        assertThat(send("PUT", "/v2/images/" + id + "/file", "alpha", "member", "application/octet-stream", data,
                null).statusCode()).isEqualTo(204);
        assertThat(send("PUT", "/v2/images/" + id + "/file", "alpha", "member", "application/octet-stream", data,
                null).statusCode()).isEqualTo(409);
        JsonNode image = json(send("GET", "/v2/images/" + id, "alpha", "member", null, null, null), 200);
        assertThat(image.path("status").asText()).isEqualTo("active");
        assertThat(image.path("size").asLong()).isEqualTo(data.length);
        assertThat(image.path("cloudlet_base_id").asText()).isEqualTo(base.baseId());

        HttpResponse<byte[]> part = http.send(HttpRequest.newBuilder(uri("/v2/images/" + id + "/file"))
                .header("X-Project-Id", "alpha").header("Range", "bytes=10-109").build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(part.statusCode()).isEqualTo(206);
        assertThat(part.body()).isEqualTo(Arrays.copyOfRange(data, 10, 110));

        assertThat(send("GET", "/v2/images/" + id, "beta", "member", null, null, null).statusCode()).isEqualTo(404);
        assertThat(send("DELETE", "/v2/images/" + id, "beta", "member", null, null, null).statusCode()).isEqualTo(404);
        assertThat(send("GET", "/v2/images/" + id, "admin", "admin", null, null, null).statusCode()).isEqualTo(200);
        assertThat(send("DELETE", "/v2/images/" + id, "alpha", "member", null, null, null).statusCode()).isEqualTo(204);
        assertThat(send("GET", "/v2/images/" + id, "alpha", "member", null, null, null).statusCode()).isEqualTo(404);
    }

    @Test
    void anOverlayForABaseVmThisCloudletLacksIsRefused() throws Exception {
        String id = json(send("POST", "/v2/images", "alpha", "member", "application/json",
                "{\"name\":\"app\"}".getBytes(), null), 201).path("id").asText();
        HttpResponse<String> reply = send("PUT", "/v2/images/" + id + "/file", "alpha", "member",
                "application/octet-stream", Files.readAllBytes(overlay), null);
        assertThat(reply.statusCode()).isEqualTo(400);
        assertThat(reply.body()).contains("does not hold");
    }

    @Test
    void callsWithoutIdentityOrWithBadBodiesAreRefusedWithProblemDetails() throws Exception {
        HttpResponse<String> anonymous = send("GET", "/v2/images", null, null, null, null, null);
        assertThat(anonymous.statusCode()).isEqualTo(401);
        assertThat(anonymous.headers().firstValue("Content-Type").orElse("")).contains("problem+json");
        HttpResponse<String> malformed = send("POST", "/v2/images", "alpha", "member", "application/json",
                "{\"name\":".getBytes(), null);
        assertThat(malformed.statusCode()).isEqualTo(400);
        HttpResponse<String> baseType = send("POST", "/v2/images", "alpha", "member", "application/json",
                "{\"name\":\"x\",\"cloudlet_type\":\"base_disk\"}".getBytes(), null);
        assertThat(baseType.statusCode()).isEqualTo(400);
        assertThat(send("GET", "/v2/images/not-a-uuid", "alpha", "member", null, null, null).statusCode())
                .isEqualTo(404);
    }

    private HttpResponse<String> send(String method, String path, String project, String roles, String type,
                                      byte[] body, String range) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri(path)).method(method, body == null
                ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        if (project != null) {
            request.header("X-Project-Id", project).header("X-Roles", roles);
        }
        if (type != null) {
            request.header("Content-Type", type);
        }
        if (range != null) {
            request.header("Range", range);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(HttpResponse<String> reply, int status) throws IOException {
        assertThat(reply.statusCode()).as(reply.body()).isEqualTo(status);
        return JSON.readTree(reply.body());
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }
}
