package io.cloudlet.bench;

import io.cloudlet.agent.host.CloudletHost;
import io.cloudlet.agent.host.InstanceView;
import io.cloudlet.agent.host.Progress;
import io.cloudlet.agent.hypervisor.Hypervisor;
import io.cloudlet.agent.hypervisor.LibvirtHypervisor;
import io.cloudlet.agent.hypervisor.PortForward;
import io.cloudlet.engine.handoff.HandoffReceiver;
import io.cloudlet.engine.handoff.HandoffSender;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * VM handoff against the hypervisor's own live migration, in one run, on this host.
 *
 * <p>For each link rate, the same guest (the test guest, resumed from its base VM, with the test
 * application installed: 24 MB, half in memory and half on disk) is started twice. One copy is
 * handed off from home A to home B with {@link CloudletHost#handoff}, the stream capped at the
 * rate in-process. The other is migrated by QEMU itself, as libvirt migrates without shared
 * storage (the whole disk mirrored over NBD, then all RAM by pre-copy with {@code max-bandwidth}
 * at the rate), to a scratch VM on the same host ({@link CloudletHost#migrateBaseline}), with all
 * of its traffic through one relay that holds both streams to the rate together ({@link LinkRelay}). Both report total time, downtime (source paused to the
 * destination running) and bytes sent.
 *
 * <p>Arguments: work directory, guest directory (from guest/build-test-guest), link rates in Mbit/s.
 */
public final class HandoffBench {

    private static final String BASE = "bench-base";
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private record Run(double totalSeconds, double downtimeSeconds, long bytes) {
    }

    private HandoffBench() {
    }

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[0]);
        Path guest = Path.of(args[1]);
        List<Integer> rates = new ArrayList<>();
        for (String rate : args[2].split(",")) {
            rates.add(Integer.parseInt(rate.trim()));
        }
        try (CloudletHost source = CloudletHost.open(work.resolve("home-a"), LibvirtHypervisor.connect("qemu:///system"));
             CloudletHost destination = CloudletHost.open(work.resolve("home-b"),
                     LibvirtHypervisor.connect("qemu:///system"))) {
            clean(source);
            clean(destination);
            prepareBases(source, destination, guest, work);
            List<String> results = new ArrayList<>();
            for (int mbps : rates) {
                long bytesPerSecond = mbps * 125_000L;
                Run ours = handoff(source, destination, bytesPerSecond, mbps);
                Run baseline = migration(source, bytesPerSecond, mbps, work);
                System.out.printf(Locale.ROOT, "handoff-bench: %d Mbit/s: bytes %.3f x, total %.3f x, downtime %.3f x"
                        + " of the baseline%n", mbps, ours.bytes() / (double) baseline.bytes(),
                        ours.totalSeconds() / baseline.totalSeconds(), ours.downtimeSeconds() / baseline.downtimeSeconds());
                results.add(String.format(Locale.ROOT, "RESULT handoff link_mbps=%d total_s=%.2f downtime_s=%.3f"
                                + " bytes=%d baseline_total_s=%.2f baseline_downtime_s=%.3f baseline_bytes=%d", mbps,
                        ours.totalSeconds(), ours.downtimeSeconds(), ours.bytes(), baseline.totalSeconds(),
                        baseline.downtimeSeconds(), baseline.bytes()));
            }
            results.forEach(System.out::println);
        }
    }

    private static Run handoff(CloudletHost source, CloudletHost destination, long bytesPerSecond, int mbps)
            throws Exception {
        String name = "handoff-" + mbps;
        int port = freePort();
        InstanceView running = startWithApplication(source, name, port);
        int arrivalPort = freePort();
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            String ticket = "bench-" + System.nanoTime();
            CompletableFuture<CloudletHost.HandoffArrival> arrival = CompletableFuture.supplyAsync(() -> {
                try (Socket socket = listener.accept()) {
                    return destination.receiveHandoff(name, List.of(new PortForward("127.0.0.1", arrivalPort, 80)),
                            ticket::equals, socket.getInputStream(), socket.getOutputStream(),
                            HandoffReceiver.Progress.NONE);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            HandoffSender.Report report = source.handoff(running.name(), new InetSocketAddress(
                    InetAddress.getLoopbackAddress(), listener.getLocalPort()), ticket, bytesPerSecond,
                    HandoffSender.Options.defaults(), (phase, percent) -> { });
            arrival.get(5, TimeUnit.MINUTES);
            get("http://127.0.0.1:" + arrivalPort + "/cgi-bin/verify", Duration.ofMinutes(1));
            System.out.printf(Locale.ROOT, "handoff-bench: ours at %d Mbit/s: %d passes %s, codecs %s%n", mbps,
                    report.passes().size(), report.passes().stream().map(p -> p.rawBytes() / 1024 + " KiB raw/"
                            + p.wireBytes() / 1024 + " KiB sent in " + p.elapsed().toMillis() + " ms").toList(),
                    report.codecUse());
            return new Run(report.total().toNanos() / 1e9, report.downtime().toNanos() / 1e9, report.wireBytes());
        } finally {
            destination.terminate(name);
        }
    }

    private static Run migration(CloudletHost source, long bytesPerSecond, int mbps, Path work) throws Exception {
        String name = "migrate-" + mbps;
        startWithApplication(source, name, freePort());
        try (LinkRelay link = new LinkRelay(bytesPerSecond, work.resolve("relay-" + mbps))) {
            Hypervisor.MigrationStats stats = source.migrateBaseline(name, bytesPerSecond, link::route);
            System.out.printf(Locale.ROOT, "handoff-bench: QEMU live migration at %d Mbit/s: %s; %d bytes through the"
                    + " link%n", mbps, stats, link.forwardBytes());
            return new Run(stats.total().toNanos() / 1e9, stats.downtime().toNanos() / 1e9, link.forwardBytes());
        }
    }

    /** Resumes the base VM and installs the test application, so both runs start from the same state. */
    private static InstanceView startWithApplication(CloudletHost host, String name, int port) throws Exception {
        InstanceView instance = host.resume(BASE, name, List.of(new PortForward("127.0.0.1", port, 80)),
                Progress.NONE);
        get("http://127.0.0.1:" + port + "/cgi-bin/install?mb=24&token=handoff-bench", Duration.ofMinutes(3));
        // Let the guest settle after the install, as an application would between requests.
        Thread.sleep(2000);
        return instance;
    }

    private static void prepareBases(CloudletHost source, CloudletHost destination, Path guest, Path work)
            throws IOException {
        if (source.baseNameOf(destination.listBases().stream().map(b -> b.baseId()).findFirst().orElse(""))
                .isPresent()) {
            return;
        }
        if (source.listBases().isEmpty()) {
            source.createBase(new CloudletHost.BaseSpec(BASE, guest.resolve("disk.raw"), guest.resolve("vmlinuz"),
                    guest.resolve("initrd.gz"), "console=ttyS0 quiet", 256, 1, CloudletHost.DEFAULT_CPU_MODEL,
                    "cloudlet-guest: ready", null, Duration.ofMinutes(2)), Progress.NONE);
        }
        Path pkg = work.resolve("base.zip");
        Files.deleteIfExists(pkg);
        source.exportBase(BASE, pkg);
        destination.importBase(pkg, Progress.NONE);
        Files.delete(pkg);
    }

    private static void clean(CloudletHost host) {
        for (InstanceView instance : host.listInstances()) {
            host.terminate(instance.name());
        }
    }

    private static String get(String url, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(url))
                        .timeout(Duration.ofMinutes(2)).build(), HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() == 200) {
                    return response.body();
                }
            } catch (IOException e) {
                last = e;
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("no answer from " + url, last);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
