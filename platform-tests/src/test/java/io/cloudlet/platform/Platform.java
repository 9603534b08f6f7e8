package io.cloudlet.platform;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A whole platform for a test: {@code bin/platform up} with its own ports, database, broker
 * prefix, state directory and port range, so it never meets a platform someone runs by hand.
 */
final class Platform implements AutoCloseable {

    static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();
    static final ObjectMapper JSON = new ObjectMapper();

    final Path state;
    final Map<String, String> env = new LinkedHashMap<>();
    final String gateway;
    final String imageService;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    final String database;

    Platform(Path state, int portBase) {
        this(state, portBase, "e2e");
    }

    /**
     * A platform named {@code name}: database {@code cloudlet_NAME}, host id {@code NAME-host},
     * broker prefix {@code NAME.}; services on {@code portBase}..+4, forwarded guest ports from
     * {@code portBase+100} to {@code portBase+199}.
     */
    Platform(Path state, int portBase, String name) {
        this.state = state;
        this.database = "cloudlet_" + name;
        env.put("CLOUDLET_PLATFORM_DIR", state.toString());
        env.put("CLOUDLET_DB_NAME", database);
        env.put("CLOUDLET_GATEWAY_PORT", String.valueOf(portBase));
        env.put("CLOUDLET_IMAGE_PORT", String.valueOf(portBase + 1));
        env.put("CLOUDLET_SYNTHESIS_PORT", String.valueOf(portBase + 2));
        env.put("CLOUDLET_AGENT_PORT", String.valueOf(portBase + 3));
        env.put("CLOUDLET_HANDOFF_PORT", String.valueOf(portBase + 4));
        env.put("CLOUDLET_PORT_RANGE", (portBase + 100) + "-" + (portBase + 199));
        env.put("CLOUDLET_HOST_ID", name + "-host");
        env.put("CLOUDLET_MQ_PREFIX", name + ".");
        this.gateway = "http://127.0.0.1:" + portBase;
        this.imageService = "http://127.0.0.1:" + (portBase + 1);
    }

    /** Starts the platform from an empty database and state directory. */
    void up() throws IOException, InterruptedException {
        run(List.of("bin/platform", "down"), Duration.ofMinutes(2));
        run(List.of("psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", "drop database if exists " + database),
                Duration.ofMinutes(1));
        deleteTree(state);
        String out = run(List.of("bin/platform", "up"), Duration.ofMinutes(10));
        if (!out.strip().endsWith(gateway)) {
            throw new IllegalStateException("bin/platform up printed " + out);
        }
    }

    /** The admin credentials from {@code bin/platform openrc}. */
    Map<String, String> openrc() throws IOException, InterruptedException {
        Map<String, String> values = new LinkedHashMap<>();
        for (String line : run(List.of("bin/platform", "openrc"), Duration.ofMinutes(1)).split("\n")) {
            if (line.startsWith("export ")) {
                String[] kv = line.substring(7).split("=", 2);
                values.put(kv[0], kv[1]);
            }
        }
        return values;
    }

    String run(List<String> command, Duration timeout) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command).directory(REPO.toFile()).redirectErrorStream(false);
        builder.environment().putAll(env);
        Path log = Files.createTempFile("platform-", ".log");
        builder.redirectError(log.toFile());
        Process process = builder.start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(timeout.toSeconds(), TimeUnit.SECONDS) || process.exitValue() != 0) {
            process.destroyForcibly();
            throw new IllegalStateException(command + " failed:\n" + out + Files.readString(log));
        }
        Files.delete(log);
        return out;
    }

    /** One HTTP exchange; the body is JSON if it parses as such. */
    record Reply(int status, Map<String, List<String>> headers, String body) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + body, e);
            }
        }
    }

    Reply call(String method, String url, String token, String contentType, byte[] body)
            throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url.startsWith("http") ? url : gateway + url))
                .timeout(Duration.ofMinutes(2))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body));
        if (token != null) {
            request.header("X-Auth-Token", token);
        }
        if (contentType != null) {
            request.header("Content-Type", contentType);
        }
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(response.statusCode(), response.headers().map(), response.body());
    }

    Reply json(String method, String url, String token, String body) throws IOException, InterruptedException {
        return call(method, url, token, "application/json", body == null ? null : body.getBytes(StandardCharsets.UTF_8));
    }

    /** Libvirt domains whose name mentions {@code text}. */
    static List<String> domainsNamed(String text) throws IOException, InterruptedException {
        Process process = new ProcessBuilder("virsh", "-c", "qemu:///system", "list", "--all", "--name")
                .redirectErrorStream(true).start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        process.waitFor();
        List<String> names = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (line.contains(text)) {
                names.add(line.strip());
            }
        }
        return names;
    }

    /** Starts whatever of the platform is not running (after a test stopped a service). */
    void restartMissing() throws IOException, InterruptedException {
        run(List.of("bin/platform", "up"), Duration.ofMinutes(5));
    }

    /** Kills one of the platform's services, as a crash would. */
    void kill(String service) throws IOException, InterruptedException {
        String pid = Files.readString(state.resolve(service + ".pid")).strip();
        new ProcessBuilder("kill", "-9", pid).start().waitFor();
        // Dead once it is gone or a zombie (nothing may reap it here).
        Path stat = Path.of("/proc", pid, "stat");
        for (int i = 0; i < 100; i++) {
            try {
                if (Files.readString(stat).contains(") Z ")) {
                    return;
                }
            } catch (java.nio.file.NoSuchFileException e) {
                return;
            }
            Thread.sleep(100);
        }
    }

    /** A project-scoped token of {@code user}. */
    String token(String user, String password, String project) throws IOException, InterruptedException {
        Reply reply = json("POST", "/v3/auth/tokens", null, "{\"auth\":{\"identity\":{\"methods\":[\"password\"],"
                + "\"password\":{\"user\":{\"name\":\"" + user + "\",\"domain\":{\"name\":\"Default\"},\"password\":\""
                + password + "\"}}},\"scope\":{\"project\":{\"name\":\"" + project + "\",\"domain\":{\"name\":"
                + "\"Default\"}}}}}");
        if (reply.status() != 201) {
            throw new IllegalStateException("token request answered " + reply.status() + ": " + reply.body());
        }
        return reply.headers().get("x-subject-token").get(0);
    }

    /** The admin's token, from {@code bin/platform openrc}. */
    String adminToken() throws IOException, InterruptedException {
        return token("admin", openrc().get("OS_PASSWORD"), "admin");
    }

    /** Imports the base VM package {@code pkg} and returns its base_disk image id. */
    String importBase(String token, Path pkg) throws IOException, InterruptedException {
        Reply imported = call("POST", "/v2/cloudlet/bases", token, "application/zip", Files.readAllBytes(pkg));
        if (imported.status() != 201 && imported.status() != 200) {
            throw new IllegalStateException("base import answered " + imported.status() + ": " + imported.body());
        }
        return imported.json().path("base").path("images").path("base_disk").asText();
    }

    /** Polls server {@code id} until {@code condition} holds; fails after {@code timeout}. */
    JsonNode awaitServer(String token, String id, java.util.function.Predicate<JsonNode> condition, Duration timeout)
            throws IOException, InterruptedException {
        JsonNode server = null;
        for (long deadline = System.nanoTime() + timeout.toNanos(); System.nanoTime() < deadline; ) {
            server = json("GET", "/v2.1/servers/" + id, token, null).json().path("server");
            if (condition.test(server)) {
                return server;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("server " + id + " did not get there: " + server);
    }

    /** The serial console log of server {@code id} on this platform's agent. */
    Path console(String id) {
        return state.resolve("agent-home/instances/" + id + "/console.log");
    }

    /**
     * The test guest's base VM package, built once under {@code work} with the standalone CLI
     * (guest image, boot, pause, snapshot, export).
     */
    static Path basePackage(Path work) throws IOException, InterruptedException {
        Path pkg = work.resolve("base.zip");
        if (Files.exists(pkg)) {
            return pkg;
        }
        Platform tools = new Platform(work.resolve("tools"), 0);
        Path guest = work.resolve("guest");
        tools.run(List.of("guest/build-test-guest", guest.toString()), Duration.ofMinutes(10));
        Path home = work.resolve("operator");
        deleteTree(home);
        tools.run(List.of("bin/cloudlet", "--home", home.toString(), "base", "create", "--name", "e2e-base",
                "--disk", guest.resolve("disk.raw").toString(), "--kernel", guest.resolve("vmlinuz").toString(),
                "--initrd", guest.resolve("initrd.gz").toString(), "--cmdline", "console=ttyS0 quiet",
                "--ready-serial", "cloudlet-guest: ready"), Duration.ofMinutes(5));
        Path partial = work.resolve("base.zip.partial");
        Files.deleteIfExists(partial);
        tools.run(List.of("bin/cloudlet", "--home", home.toString(), "base", "export", "e2e-base", partial.toString()),
                Duration.ofMinutes(5));
        Files.move(partial, pkg);
        return pkg;
    }

    /** GET {@code url} until it answers 200 (a guest's service may need a moment), and return the body. */
    static String httpGet(String url, Duration timeout) throws IOException, InterruptedException {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        IOException last = null;
        for (long deadline = System.nanoTime() + timeout.toNanos(); System.nanoTime() < deadline; ) {
            try {
                HttpResponse<String> response = client.send(HttpRequest.newBuilder(URI.create(url))
                        .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() == 200) {
                    return response.body();
                }
            } catch (IOException e) {
                last = e;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("GET " + url + " did not answer 200 within " + timeout, last);
    }

    @Override
    public void close() throws Exception {
        run(List.of("bin/platform", "down"), Duration.ofMinutes(3));
    }

    static void deleteTree(Path path) throws IOException {
        if (!Files.exists(path)) {
            return;
        }
        try (var walk = Files.walk(path)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
