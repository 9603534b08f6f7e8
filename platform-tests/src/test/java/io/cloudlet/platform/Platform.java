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

    Platform(Path state, int portBase) {
        this.state = state;
        env.put("CLOUDLET_PLATFORM_DIR", state.toString());
        env.put("CLOUDLET_DB_NAME", "cloudlet_e2e");
        env.put("CLOUDLET_GATEWAY_PORT", String.valueOf(portBase));
        env.put("CLOUDLET_IMAGE_PORT", String.valueOf(portBase + 1));
        env.put("CLOUDLET_SYNTHESIS_PORT", String.valueOf(portBase + 2));
        env.put("CLOUDLET_AGENT_PORT", String.valueOf(portBase + 3));
        env.put("CLOUDLET_PORT_RANGE", (portBase + 100) + "-" + (portBase + 199));
        env.put("CLOUDLET_HOST_ID", "e2e-host");
        env.put("CLOUDLET_MQ_PREFIX", "e2e.");
        this.gateway = "http://127.0.0.1:" + portBase;
        this.imageService = "http://127.0.0.1:" + (portBase + 1);
    }

    /** Starts the platform from an empty database and state directory. */
    void up() throws IOException, InterruptedException {
        run(List.of("bin/platform", "down"), Duration.ofMinutes(2));
        run(List.of("psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", "drop database if exists cloudlet_e2e"),
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
