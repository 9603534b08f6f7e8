package io.cloudlet.platform;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.openstack4j.api.Builders;
import org.openstack4j.api.OSClient.OSClientV3;
import org.openstack4j.model.common.Identifier;
import org.openstack4j.model.compute.Flavor;
import org.openstack4j.model.compute.Server;
import org.openstack4j.model.image.v2.Image;
import org.openstack4j.openstack.OSFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The whole platform, started by {@code bin/platform up} with a real compute agent on libvirt:
 * an operator imports a base VM; a developer resumes it through the Compute API, installs the test
 * application and creates an overlay with the {@code cloudlet-overlay} action; then the OpenStack
 * Java client (openstack4j) authenticates, lists flavors and images, creates a server with
 * {@code overlay_url}, reaches the guest's service and deletes it. Then the refusals.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PlatformIT {

    private static final Path WORK = Path.of("target", "e2e").toAbsolutePath();

    private Platform platform;
    private Map<String, String> openrc;
    private String adminToken;
    private String baseImage;
    private String flavor;
    private String overlayImage;
    private String installed;

    @BeforeAll
    void startPlatformAndMakeAnOverlay() throws Exception {
        platform = new Platform(WORK.resolve("platform"), 18800);
        platform.up();
        openrc = platform.openrc();
        adminToken = token("admin", openrc.get("OS_PASSWORD"), "admin");

        Path guest = WORK.resolve("guest");
        platform.run(List.of("guest/build-test-guest", guest.toString()), Duration.ofMinutes(10));
        Path home = WORK.resolve("operator");
        Platform.deleteTree(home);
        Path pkg = WORK.resolve("base.zip");
        Files.deleteIfExists(pkg);
        platform.run(List.of("bin/cloudlet", "--home", home.toString(), "base", "create", "--name", "e2e-base",
                "--disk", guest.resolve("disk.raw").toString(), "--kernel", guest.resolve("vmlinuz").toString(),
                "--initrd", guest.resolve("initrd.gz").toString(), "--cmdline", "console=ttyS0 quiet",
                "--ready-serial", "cloudlet-guest: ready"), Duration.ofMinutes(5));
        platform.run(List.of("bin/cloudlet", "--home", home.toString(), "base", "export", "e2e-base", pkg.toString()),
                Duration.ofMinutes(5));

        Platform.Reply imported = platform.call("POST", "/v2/cloudlet/bases", adminToken, "application/zip",
                Files.readAllBytes(pkg));
        assertThat(imported.status()).as(imported.body()).isEqualTo(201);
        baseImage = imported.json().path("base").path("images").path("base_disk").asText();
        flavor = platform.json("GET", "/v2.1/flavors", adminToken, null).json().path("flavors").get(0).path("id").asText();

        // The developer's part, through the Compute API: resume, install, overlay.
        String developer = create("{\"server\":{\"name\":\"developer\",\"imageRef\":\"" + baseImage
                + "\",\"flavorRef\":\"" + flavor + "\"}}");
        JsonNode server = waitFor(developer, s -> s.path("status").asText().equals("ACTIVE"));
        String endpoint = server.path("cloudlet:endpoint").asText();
        installed = get("http://" + endpoint + "/cgi-bin/install?mb=8&token=e2e-" + UUID.randomUUID());
        assertThat(installed).contains("cloudlet test application");
        Platform.Reply action = platform.json("POST", "/v2.1/servers/" + developer + "/action", adminToken,
                "{\"cloudlet-overlay\":{\"name\":\"e2e-app\"}}");
        assertThat(action.status()).as(action.body()).isEqualTo(202);
        overlayImage = action.json().path("image_id").asText();
        waitFor(developer, s -> s.path("OS-EXT-STS:task_state").isNull() && s.path("status").asText().equals("ACTIVE"));
        JsonNode overlay = platform.json("GET", "/v2/images/" + overlayImage, adminToken, null).json();
        assertThat(overlay.path("status").asText()).isEqualTo("active");
        assertThat(overlay.path("cloudlet_type").asText()).isEqualTo("overlay");
        assertThat(platform.json("DELETE", "/v2.1/servers/" + developer, adminToken, null).status()).isEqualTo(204);
        waitUntilGone(developer);
    }

    @AfterAll
    void stopPlatform() throws Exception {
        if (platform != null) {
            platform.close();
        }
    }

    @Test
    @Order(1)
    void openStackClientSynthesisesAServerFromAnOverlayUrlAndDeletesIt() throws Exception {
        OSClientV3 os = OSFactory.builderV3().endpoint(openrc.get("OS_AUTH_URL"))
                .credentials(openrc.get("OS_USERNAME"), openrc.get("OS_PASSWORD"), Identifier.byName("Default"))
                .scopeToProject(Identifier.byName(openrc.get("OS_PROJECT_NAME")), Identifier.byName("Default"))
                .authenticate();

        List<? extends Flavor> flavors = os.compute().flavors().list();
        assertThat(flavors).extracting(Flavor::getId).contains(flavor);
        assertThat(flavors.get(0).getRam()).isEqualTo(256);
        List<? extends Image> images = os.imagesV2().list();
        assertThat(images).extracting(Image::getId).contains(baseImage, overlayImage);

        String overlayUrl = platform.imageService + "/v2/images/" + overlayImage + "/file";
        Server booted = os.compute().servers().boot(Builders.server().name("app").image(baseImage).flavor(flavor)
                .addMetadataItem("overlay_url", overlayUrl).build());
        String id = booted.getId();
        Server active = null;
        for (long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos(); System.nanoTime() < deadline; ) {
            active = os.compute().servers().get(id);
            if (active.getStatus() == Server.Status.ACTIVE || active.getStatus() == Server.Status.ERROR) {
                break;
            }
            Thread.sleep(200);
        }
        assertThat(active).isNotNull();
        assertThat(active.getStatus()).as(String.valueOf(active.getFault())).isEqualTo(Server.Status.ACTIVE);
        String endpoint = active.getMetadata().get("cloudlet_endpoint");
        assertThat(endpoint).startsWith("127.0.0.1:");
        assertThat(get("http://" + endpoint + "/cgi-bin/verify")).isEqualTo(installed);
        assertThat(Platform.domainsNamed(id)).hasSize(1);

        assertThat(os.compute().servers().delete(id).isSuccess()).isTrue();
        waitUntilGone(id);
        assertThat(os.compute().servers().get(id)).isNull();
    }

    @Test
    @Order(2)
    void anUploadedOverlayImageCanBeTheImageRef() throws Exception {
        String id = create("{\"server\":{\"name\":\"from-image\",\"imageRef\":\"" + overlayImage + "\",\"flavorRef\":\""
                + flavor + "\"}}");
        JsonNode server = waitFor(id, s -> !s.path("status").asText().equals("BUILD"));
        assertThat(server.path("status").asText()).as(server.toString()).isEqualTo("ACTIVE");
        assertThat(get("http://" + server.path("cloudlet:endpoint").asText() + "/cgi-bin/verify")).isEqualTo(installed);
        platform.json("DELETE", "/v2.1/servers/" + id, adminToken, null);
        waitUntilGone(id);
    }

    @Test
    @Order(3)
    void callsWithoutAValidTokenAreRefused() throws Exception {
        Platform.Reply missing = platform.json("GET", "/v2.1/servers", null, null);
        assertThat(missing.status()).isEqualTo(401);
        assertThat(missing.json().path("unauthorized").path("code").asInt()).isEqualTo(401);
        Platform.Reply forged = platform.json("GET", "/v2.1/servers", adminToken.substring(0, adminToken.length() - 4)
                + "AAAA", null);
        assertThat(forged.status()).isEqualTo(401);
        Platform.Reply image = platform.json("GET", "/v2/images", "not-a-token", null);
        assertThat(image.status()).isEqualTo(401);
        assertThat(image.headers().get("content-type").get(0)).startsWith("application/problem+json");
        assertThat(image.json().path("detail").asText()).contains("not valid or has expired");
        Platform.Reply wrongPassword = platform.json("POST", "/v3/auth/tokens", null, password("admin", "wrong", "admin"));
        assertThat(wrongPassword.status()).isEqualTo(401);
    }

    @Test
    @Order(4)
    void aProjectSeesOnlyItsOwnServersAndOnlyAdminsImportBaseVms() throws Exception {
        String server = create("{\"server\":{\"name\":\"admins\",\"imageRef\":\"" + baseImage + "\",\"flavorRef\":\""
                + flavor + "\"}}");
        String project = platform.json("POST", "/v3/projects", adminToken, "{\"project\":{\"name\":\"tenant-"
                + UUID.randomUUID().toString().substring(0, 8) + "\"}}").json().path("project").path("id").asText();
        String user = "user-" + UUID.randomUUID().toString().substring(0, 8);
        Platform.Reply created = platform.json("POST", "/v3/users", adminToken, "{\"user\":{\"name\":\"" + user
                + "\",\"password\":\"tenant-secret\",\"default_project_id\":\"" + project + "\"}}");
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        String tenant = tokenByProjectId(user, "tenant-secret", project);

        Platform.Reply other = platform.json("GET", "/v2.1/servers/" + server, tenant, null);
        assertThat(other.status()).isEqualTo(404);
        assertThat(other.json().path("itemNotFound").path("message").asText()).contains(server);
        assertThat(platform.json("DELETE", "/v2.1/servers/" + server, tenant, null).status()).isEqualTo(404);
        assertThat(platform.json("GET", "/v2.1/servers", tenant, null).json().path("servers")).isEmpty();
        assertThat(platform.json("GET", "/v2/images/" + overlayImage, tenant, null).status()).isEqualTo(404);
        Platform.Reply importing = platform.call("POST", "/v2/cloudlet/bases", tenant, "application/zip", new byte[10]);
        assertThat(importing.status()).isEqualTo(403);

        waitFor(server, s -> !s.path("status").asText().equals("BUILD"));
        platform.json("DELETE", "/v2.1/servers/" + server, adminToken, null);
        waitUntilGone(server);
    }

    @Test
    @Order(5)
    void malformedRequestsAndUnknownReferencesAre4xx() throws Exception {
        Platform.Reply malformed = platform.json("POST", "/v2.1/servers", adminToken, "{\"server\": {\"name\": ");
        assertThat(malformed.status()).isEqualTo(400);
        assertThat(malformed.json().path("badRequest").path("message").asText()).isNotBlank();
        Platform.Reply unknownImage = platform.json("POST", "/v2.1/servers", adminToken,
                "{\"server\":{\"name\":\"x\",\"imageRef\":\"" + UUID.randomUUID() + "\",\"flavorRef\":\"" + flavor + "\"}}");
        assertThat(unknownImage.status()).isEqualTo(400);
        assertThat(unknownImage.json().path("badRequest").path("message").asText()).contains("could not be found");
        Platform.Reply unknownFlavor = platform.json("POST", "/v2.1/servers", adminToken,
                "{\"server\":{\"name\":\"x\",\"imageRef\":\"" + baseImage + "\",\"flavorRef\":\"c64.m1.d1\"}}");
        assertThat(unknownFlavor.status()).isEqualTo(400);
        assertThat(platform.json("GET", "/v2.1/flavors/c64.m1.d1", adminToken, null).status()).isEqualTo(404);
        assertThat(platform.json("GET", "/v2.1/servers/" + UUID.randomUUID(), adminToken, null).status()).isEqualTo(404);
        Platform.Reply badUrl = platform.json("POST", "/v2.1/servers", adminToken, "{\"server\":{\"name\":\"x\","
                + "\"imageRef\":\"" + baseImage + "\",\"flavorRef\":\"" + flavor + "\",\"metadata\":{\"overlay_url\":\"ftp://x\"}}}");
        assertThat(badUrl.status()).isEqualTo(400);
        assertThat(platform.json("GET", "/v2.1/servers", adminToken, null).json().path("servers")).isEmpty();
    }

    @Test
    @Order(6)
    void anOverlayUrlThatIsMissingOrNotAnOverlayFailsTheServerAndLeavesNothing() throws Exception {
        for (String url : List.of(platform.imageService + "/v2/images/" + UUID.randomUUID() + "/file",
                platform.imageService + "/actuator/health")) {
            String id = create("{\"server\":{\"name\":\"bad\",\"imageRef\":\"" + baseImage + "\",\"flavorRef\":\""
                    + flavor + "\",\"metadata\":{\"overlay_url\":\"" + url + "\"}}}");
            JsonNode server = waitFor(id, s -> !s.path("status").asText().equals("BUILD"));
            assertThat(server.path("status").asText()).isEqualTo("ERROR");
            assertThat(server.path("fault").path("message").asText()).isNotBlank();
            assertThat(Platform.domainsNamed(id)).isEmpty();
            assertThat(platform.state.resolve("agent-home/instances/" + id)).doesNotExist();
            platform.json("DELETE", "/v2.1/servers/" + id, adminToken, null);
        }
    }

    @Test
    @Order(7)
    void versionDiscoveryAndHealthAnswer() throws Exception {
        assertThat(platform.json("GET", "/v2.1", adminToken, null).json().path("version").path("id").asText())
                .isEqualTo("v2.1");
        assertThat(platform.json("GET", "/v3", null, null).json().path("version").path("id").asText()).startsWith("v3");
        assertThat(platform.json("GET", "/actuator/health/liveness", null, null).status()).isEqualTo(200);
        assertThat(platform.json("GET", "/actuator/prometheus", null, null).body()).contains("jvm_memory_used_bytes");
        assertThat(platform.json("GET", "/openapi/compute", null, null).json().path("paths").has("/v2.1/servers"))
                .isTrue();
        assertThat(platform.json("GET", "/openapi/image", null, null).json().path("paths").has("/v2/images"))
                .isTrue();
        assertThat(platform.json("GET", "/openapi/identity", null, null).json().path("paths").has("/v3/auth/tokens"))
                .isTrue();
    }

    @Test
    @Order(8)
    void anAgentRestartedAfterItsHostLostAVmReconcilesAndTheServerGoesToError() throws Exception {
        String id = create("{\"server\":{\"name\":\"doomed\",\"imageRef\":\"" + baseImage + "\",\"flavorRef\":\""
                + flavor + "\"}}");
        waitFor(id, s -> s.path("status").asText().equals("ACTIVE"));
        Path pidFile = platform.state.resolve("compute-agent.pid");
        long pid = Long.parseLong(Files.readString(pidFile).strip());
        ProcessHandle agent = ProcessHandle.of(pid).orElseThrow();
        agent.destroyForcibly();
        agent.onExit().get();
        // What a host reboot does to a VM: it is gone, its files are not.
        for (String domain : Platform.domainsNamed(id)) {
            platform.run(List.of("virsh", "-c", "qemu:///system", "destroy", domain), Duration.ofSeconds(30));
        }
        assertThat(platform.state.resolve("agent-home/instances/" + id)).exists();

        platform.run(List.of("bin/platform", "up"), Duration.ofMinutes(3));

        JsonNode failed = waitForAny(id, s -> s.path("status").asText().equals("ERROR"));
        assertThat(failed.path("fault").path("message").asText()).contains("gone from host");
        assertThat(platform.state.resolve("agent-home/instances/" + id)).doesNotExist();
        assertThat(platform.json("DELETE", "/v2.1/servers/" + id, adminToken, null).status()).isEqualTo(204);
    }

    // ---- helpers ----

    private String create(String body) throws Exception {
        Platform.Reply reply = platform.json("POST", "/v2.1/servers", adminToken, body);
        assertThat(reply.status()).as(reply.body()).isEqualTo(202);
        return reply.json().path("server").path("id").asText();
    }

    private JsonNode waitFor(String id, Predicate<JsonNode> condition) throws Exception {
        JsonNode server = null;
        for (long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos(); System.nanoTime() < deadline; ) {
            server = platform.json("GET", "/v2.1/servers/" + id, adminToken, null).json().path("server");
            if (condition.test(server)) {
                return server;
            }
            if (server.path("status").asText().equals("ERROR")) {
                throw new AssertionError("server went to ERROR: " + server);
            }
            Thread.sleep(200);
        }
        throw new AssertionError("server " + id + " did not get there: " + server);
    }

    /** Like {@link #waitFor}, but an ERROR status is an answer too. */
    private JsonNode waitForAny(String id, Predicate<JsonNode> condition) throws Exception {
        JsonNode server = null;
        for (long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos(); System.nanoTime() < deadline; ) {
            server = platform.json("GET", "/v2.1/servers/" + id, adminToken, null).json().path("server");
            if (condition.test(server)) {
                return server;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("server " + id + " did not get there: " + server);
    }

    private void waitUntilGone(String id) throws Exception {
        for (long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos(); System.nanoTime() < deadline; ) {
            if (Platform.domainsNamed(id).isEmpty()
                    && !Files.exists(platform.state.resolve("agent-home/instances/" + id))) {
                assertThat(platform.json("GET", "/v2.1/servers/" + id, adminToken, null).status()).isEqualTo(404);
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("server " + id + " still has a domain or files on the agent");
    }

    private String token(String user, String password, String project) throws Exception {
        Platform.Reply reply = platform.json("POST", "/v3/auth/tokens", null, password(user, password, project));
        assertThat(reply.status()).as(reply.body()).isEqualTo(201);
        return reply.headers().get("x-subject-token").get(0);
    }

    private String tokenByProjectId(String user, String password, String projectId) throws Exception {
        Platform.Reply reply = platform.json("POST", "/v3/auth/tokens", null, "{\"auth\":{\"identity\":{\"methods\":"
                + "[\"password\"],\"password\":{\"user\":{\"name\":\"" + user + "\",\"domain\":{\"name\":\"Default\"},"
                + "\"password\":\"" + password + "\"}}},\"scope\":{\"project\":{\"id\":\"" + projectId + "\"}}}}");
        assertThat(reply.status()).as(reply.body()).isEqualTo(201);
        return reply.headers().get("x-subject-token").get(0);
    }

    private static String password(String user, String password, String project) {
        return "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"" + user
                + "\",\"domain\":{\"name\":\"Default\"},\"password\":\"" + password + "\"}}},\"scope\":{\"project\":"
                + "{\"name\":\"" + project + "\",\"domain\":{\"name\":\"Default\"}}}}}";
    }

    /** GET until 200; an install in a TCG guest may take longer than a plain request, hence 30 s a try. */
    private static String get(String url) throws Exception {
        return Platform.httpGet(url, Duration.ofMinutes(2));
    }
}
