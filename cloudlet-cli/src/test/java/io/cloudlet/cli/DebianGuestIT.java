package io.cloudlet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.cloudlet.agent.fetch.OverlayFileServer;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real distribution guest through the {@code cloudlet} command, as a user would bring one: Debian
 * 12 built from Debian packages by {@code guest/build-debian-guest} (debootstrap; systemd; its own
 * kernel and initramfs, booted directly; systemd-networkd configured for {@code ens16} by name;
 * an HTTP service started by systemd). Nothing in it reacts to a resume. Base create, resume,
 * install, overlay create, synthesis from a URL: the synthesised guest answers with what was
 * installed, with the kernel's boot id unchanged (no reboot) and an uptime that did not go back.
 */
class DebianGuestIT {

    private static final String READY = "debian-guest: ready";
    private static final Pattern STATUS = Pattern.compile("boot_id (\\S+)\\s+uptime ([0-9.]+)");

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @TempDir
    Path work;

    record Status(String bootId, double uptimeSeconds) {
    }

    @AfterEach
    void removeWhatIsLeft() {
        for (String line : cloudlet("list").out().lines().skip(1).toList()) {
            cloudlet("terminate", line.split("\\s+")[0]);
        }
        cloudlet("base", "delete", "debian");
    }

    @Test
    void debianGuestIsSynthesisedFromAnOverlayUrlAndAnswersWithoutRebootOrNetworkChange() throws Exception {
        Path guest = buildGuest();
        CommandRun created = cloudlet("base", "create", "--name", "debian", "--disk", guest.resolve("disk.raw").toString(),
                "--kernel", guest.resolve("vmlinuz").toString(), "--initrd", guest.resolve("initrd.img").toString(),
                "--cmdline", Files.readString(guest.resolve("cmdline")).strip(), "--memory-mib", "384",
                "--ready-serial", READY, "--ready-timeout", "300");
        assertThat(created.exitCode()).as(created.toString()).isZero();

        int port = freePort();
        String forward = "127.0.0.1:" + port + ":80";
        CommandRun resumed = cloudlet("resume", "debian", "--name", "developer", "--forward", forward);
        assertThat(resumed.exitCode()).as(resumed.toString()).isZero();
        Status booted = status(port);
        String installed = get(port, "/cgi-bin/install?mb=4&token=debian", Duration.ofSeconds(120));
        assertThat(installed).startsWith("cloudlet test application debian");
        Status captured = status(port);

        Path overlay = work.resolve("served/app.overlay");
        CommandRun overlayCreated = cloudlet("overlay", "create", "developer", overlay.toString());
        assertThat(overlayCreated.exitCode()).as(overlayCreated.toString()).isZero();
        assertThat(cloudlet("terminate", "developer").exitCode()).isZero();

        try (OverlayFileServer server = OverlayFileServer.start(overlay.getParent(), "127.0.0.1", 0)) {
            CommandRun synthesised = cloudlet("synthesize", "debian", server.url("app.overlay"), "--name", "app",
                    "--forward", forward, "--wait-response", "30");
            assertThat(synthesised.exitCode()).as(synthesised.toString()).isZero();
            assertThat(synthesised.out()).contains("first response:");
        }
        assertThat(get(port, "/cgi-bin/verify", Duration.ofSeconds(10))).isEqualTo(installed);
        Status after = status(port);
        assertThat(after.bootId()).as("the kernel's boot id: no reboot").isEqualTo(booted.bootId());
        assertThat(after.uptimeSeconds()).as("uptime goes on from the snapshot").isGreaterThanOrEqualTo(
                captured.uptimeSeconds());
        assertThat(get(port, "/cgi-bin/net", Duration.ofSeconds(10))).as("the NIC configured at boot, by name")
                .contains("ens16").contains("10.0.2.15/24");
    }

    // ---- helpers ----

    private CommandRun cloudlet(String... args) {
        String[] all = new String[args.length + 2];
        all[0] = "--home";
        all[1] = work.resolve("home").toString();
        System.arraycopy(args, 0, all, 2, args.length);
        return CommandRun.of(all);
    }

    /** guest/build-debian-guest into build/debian-guest (from its cache outside the clone once built). */
    private static Path buildGuest() throws IOException, InterruptedException {
        Path root = repositoryRoot();
        Path output = root.resolve("build/debian-guest");
        Process process = new ProcessBuilder(root.resolve("guest/build-debian-guest").toString(), output.toString())
                .inheritIO().start();
        assertThat(process.waitFor()).as("guest/build-debian-guest").isZero();
        return output;
    }

    private static Path repositoryRoot() {
        Path directory = Path.of("").toAbsolutePath();
        while (directory != null && !Files.isRegularFile(directory.resolve("guest/build-debian-guest"))) {
            directory = directory.getParent();
        }
        assertThat(directory).as("inside the cloudlet repository").isNotNull();
        return directory;
    }

    private Status status(int port) throws Exception {
        Matcher matcher = STATUS.matcher(get(port, "/cgi-bin/status", Duration.ofSeconds(10)));
        assertThat(matcher.find()).isTrue();
        return new Status(matcher.group(1), Double.parseDouble(matcher.group(2)));
    }

    private String get(int port, String path, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + port + path)).timeout(timeout).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() == 200) {
                    return response.body();
                }
                last = new IOException("HTTP " + response.statusCode() + ": " + response.body());
            } catch (IOException e) {
                last = e;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("no answer from port " + port + path + " within " + timeout, last);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
