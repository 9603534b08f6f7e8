package io.cloudlet.agent.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cloudlet.agent.AgentException;
import io.cloudlet.agent.AgentException.Reason;
import io.cloudlet.agent.TestGuest;
import io.cloudlet.agent.fetch.OverlayFileServer;
import io.cloudlet.agent.hypervisor.Hypervisor;
import io.cloudlet.agent.hypervisor.LibvirtHypervisor;
import io.cloudlet.agent.hypervisor.Nic;
import io.cloudlet.agent.hypervisor.PortForward;
import io.cloudlet.engine.FileTrees;
import io.cloudlet.engine.Json;
import io.cloudlet.engine.basevm.BaseVm;
import io.cloudlet.engine.basevm.BaseVmManifest;
import io.cloudlet.engine.overlay.Codec;
import io.cloudlet.engine.overlay.FileOverlaySource;
import io.cloudlet.engine.overlay.OverlayFormat;
import io.cloudlet.engine.overlay.OverlayMeta;
import io.cloudlet.engine.handoff.HandoffReceiver;
import io.cloudlet.engine.handoff.HandoffSender;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The agent's operations on real guests under libvirt/QEMU (TCG): one base VM of the test guest
 * is created once; each test starts from no instances and must leave none behind.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CloudletHostIT {

    private static final Pattern COUNTER = Pattern.compile("cloudlet-guest: counter (\\d+)");
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private Path work;
    private Hypervisor hypervisor;
    private CloudletHost host;
    private TestGuest guest;

    @BeforeAll
    void createBase() throws Exception {
        work = Files.createTempDirectory("cloudlet-host-it");
        guest = TestGuest.get();
        hypervisor = LibvirtHypervisor.connect("qemu:///system");
        host = CloudletHost.open(work.resolve("home"), hypervisor);
        BaseVmView base = host.createBase(baseSpec("guest", CloudletHost.DEFAULT_CPU_MODEL), Progress.NONE);
        assertThat(base.memoryMib()).isEqualTo(256);
        assertThat(host.listBases()).extracting(BaseVmView::name).containsExactly("guest");
    }

    @AfterEach
    void noInstanceIsLeftBehind() {
        for (InstanceView instance : host.listInstances()) {
            host.terminate(instance.name());
        }
        assertThat(host.listInstances()).isEmpty();
        assertThat(hypervisor.list(vmPrefix())).isEmpty();
        assertThat(children(work.resolve("home/tmp"))).isEmpty();
    }

    @AfterAll
    void removeHome() throws IOException {
        host.close();
        FileTrees.deleteRecursively(work);
    }

    @Test
    void synthesisedApplicationKeepsItsStateAndTheGuestRunsOnWithoutReboot() throws Exception {
        int port = freePort();
        InstanceView developer = host.resume("guest", "developer", List.of(forward(port)), Progress.NONE);
        assertThat(developer.state()).isEqualTo("running");
        String installed = get(port, "/cgi-bin/install?mb=24&token=synthesis-test", Duration.ofSeconds(120));
        assertThat(installed).startsWith("cloudlet test application synthesis-test").contains("data/app/blob");
        int before = lastCounter(developer.consoleLog());

        Path overlay = work.resolve("served/app.overlay");
        OverlayReport report = host.createOverlay("developer", overlay, Codec.ZSTD, null, Progress.NONE);
        int after = lastCounter(developer.consoleLog());
        assertThat(report.bytes()).isBetween(5_000_000L, 40_000_000L);
        assertThat(host.instance("developer").state()).isEqualTo("running");
        host.terminate("developer");
        assertThat(portIsFree(port)).isTrue();
        assertThat(work.resolve("home/instances/developer")).doesNotExist();

        // From the file.
        SynthesisReport fromFile = host.synthesize("guest", overlay.toString(), "from-file", List.of(forward(port)),
                Progress.NONE);
        assertThat(get(port, "/cgi-bin/verify", Duration.ofSeconds(30))).isEqualTo(installed);
        assertResumedWithoutReboot(fromFile.instance().consoleLog(), before, after);
        assertThat(fromFile.apply()).isLessThan(Duration.ofSeconds(10));
        host.terminate("from-file");

        // From a URL, streamed with range requests.
        try (OverlayFileServer server = OverlayFileServer.start(overlay.getParent(), "127.0.0.1", 0)) {
            SynthesisReport fromUrl = host.synthesize("guest", server.url("app.overlay"), "from-url",
                    List.of(forward(port)), Progress.NONE);
            assertThat(fromUrl.overlayBytes()).isEqualTo(Files.size(overlay));
            assertThat(get(port, "/cgi-bin/verify", Duration.ofSeconds(30))).isEqualTo(installed);
            assertResumedWithoutReboot(fromUrl.instance().consoleLog(), before, after);
        }
    }

    @Test
    void reconcileAfterACrashRemovesOrphanVmsUnfinishedAndLostInstances() throws Exception {
        int orphanPort = freePort();
        host.resume("guest", "orphan", List.of(forward(orphanPort)), Progress.NONE);
        host.resume("guest", "lost", List.of(forward(freePort())), Progress.NONE);
        host.resume("guest", "kept", List.of(forward(freePort())), Progress.NONE);
        String orphanVm = hypervisor.list(vmPrefix()).stream().filter(vm -> vm.endsWith("-i-orphan")).findFirst()
                .orElseThrow();
        // What a crash leaves: a VM whose record is gone, a VM that vanished under its record, a
        // creation that never finished, and a staging directory.
        FileTrees.deleteRecursively(work.resolve("home/instances/orphan"));
        hypervisor.destroy(hypervisor.list(vmPrefix()).stream().filter(vm -> vm.endsWith("-i-lost")).findFirst()
                .orElseThrow());
        Path unfinished = Files.createDirectories(work.resolve("home/instances/unfinished"));
        Files.createDirectories(work.resolve("home/tmp/synthesis-123"));

        CloudletHost.ReconcileReport report = host.reconcile();

        assertThat(report.orphanVms()).containsExactly(orphanVm);
        assertThat(report.unfinished()).containsExactly("unfinished");
        assertThat(report.lost()).containsExactly("lost");
        assertThat(unfinished).doesNotExist();
        assertThat(host.listInstances()).extracting(InstanceView::name).containsExactly("kept");
        assertThat(hypervisor.list(vmPrefix())).hasSize(1);
        assertThat(portIsFree(orphanPort)).as("the orphan's forwarded port is free again").isTrue();
    }

    @Test
    void severalInstancesOfOneBaseRunSideBySide() throws Exception {
        int first = freePort();
        int second = freePort();
        host.resume("guest", "one", List.of(forward(first)), Progress.NONE);
        host.resume("guest", "two", List.of(forward(second)), Progress.NONE);
        get(first, "/cgi-bin/install?mb=2&token=one", Duration.ofSeconds(60));

        assertThat(get(first, "/app/index.html", Duration.ofSeconds(30))).contains("one");
        assertThat(httpStatus(second, "/app/index.html")).isEqualTo(404);
        assertThat(host.listInstances()).extracting(InstanceView::state).containsOnly("running");
        assertThat(hypervisor.list(vmPrefix())).hasSize(2);
    }

    @Test
    void overlaysThatDoNotFitAreRefusedAndLeaveNothing() throws Exception {
        int port = freePort();
        host.resume("guest", "source", List.of(forward(port)), Progress.NONE);
        get(port, "/", Duration.ofSeconds(30));
        Path overlay = work.resolve("bad/app.overlay");
        host.createOverlay("source", overlay, Codec.ZSTD, 3, Progress.NONE);
        host.terminate("source");

        byte[] bytes = Files.readAllBytes(overlay);
        OverlayFormat.Header header;
        try (FileOverlaySource source = FileOverlaySource.open(overlay)) {
            header = source.header();
        }
        OverlayMeta meta = header.meta();
        OverlayMeta foreign = new OverlayMeta(meta.formatVersion(), "f".repeat(64), meta.createdAt(), meta.codec(),
                meta.level(), meta.chunkSize(), meta.disk(), meta.memory(), meta.itemCounts(), meta.segments(),
                meta.attachments());
        Path otherBase = work.resolve("bad/other-base.overlay");
        try (OutputStream out = Files.newOutputStream(otherBase)) {
            out.write(OverlayFormat.encodeHeader(foreign));
            out.write(bytes, (int) header.dataOffset(), bytes.length - (int) header.dataOffset());
        }
        Path corrupt = work.resolve("bad/corrupt.overlay");
        byte[] flipped = bytes.clone();
        flipped[(int) header.dataOffset() + 100] ^= 0x40;
        Files.write(corrupt, flipped);
        Path truncated = work.resolve("bad/truncated.overlay");
        Files.write(truncated, java.util.Arrays.copyOf(bytes, bytes.length - 4096));

        assertRefused(otherBase.toString(), Reason.BAD_REQUEST, "was made for base VM");
        assertRefused(corrupt.toString(), Reason.BAD_REQUEST, "corrupt");
        assertRefused(truncated.toString(), Reason.BAD_REQUEST, "truncated");
        assertRefused(work.resolve("bad/missing.overlay").toString(), Reason.BAD_REQUEST, "does not exist");
        assertRefused("http://127.0.0.1:1/app.overlay", Reason.BAD_REQUEST, "connection refused");
        try (OverlayFileServer server = OverlayFileServer.start(overlay.getParent(), "127.0.0.1", 0)) {
            assertRefused(server.url("nothing-here.overlay"), Reason.BAD_REQUEST, "HTTP 404");
        }
        assertThatThrownBy(() -> host.synthesize("no-such-base", overlay.toString(), "x", List.of(), Progress.NONE))
                .isInstanceOf(AgentException.class).hasMessageContaining("no base VM 'no-such-base'")
                .extracting(e -> ((AgentException) e).reason()).isEqualTo(Reason.NOT_FOUND);
    }

    @Test
    void hostPortsInUseAreRefusedBeforeAnythingStarts() throws Exception {
        int port = freePort();
        host.resume("guest", "holder", List.of(forward(port)), Progress.NONE);
        assertThatThrownBy(() -> host.resume("guest", "second", List.of(forward(port)), Progress.NONE))
                .isInstanceOf(AgentException.class).hasMessageContaining("host port " + port)
                .extracting(e -> ((AgentException) e).reason()).isEqualTo(Reason.CONFLICT);
        assertThat(work.resolve("home/instances/second")).doesNotExist();

        try (ServerSocket other = new ServerSocket()) {
            other.bind(new InetSocketAddress("0.0.0.0", 0));
            assertThatThrownBy(() -> host.resume("guest", "third", List.of(forward(other.getLocalPort())),
                    Progress.NONE)).isInstanceOf(AgentException.class).hasMessageContaining("is in use")
                    .extracting(e -> ((AgentException) e).reason()).isEqualTo(Reason.CONFLICT);
        }
        assertThatThrownBy(() -> host.resume("guest", "elsewhere", List.of(new PortForward("192.0.2.1", port + 1, 80)),
                Progress.NONE)).isInstanceOf(AgentException.class).hasMessageContaining("not an address of this host")
                .extracting(e -> ((AgentException) e).reason()).isEqualTo(Reason.BAD_REQUEST);
        assertThatThrownBy(() -> host.resume("guest", "holder", List.of(), Progress.NONE))
                .isInstanceOf(AgentException.class).hasMessageContaining("exists already");
        assertThat(hypervisor.list(vmPrefix())).hasSize(1);
        host.terminate("holder");
        assertThat(portIsFree(port)).isTrue();
    }

    @Test
    void cpuModelsTheHostCannotRunAreRefusedBeforeBooting() {
        for (String model : List.of("Skylake-Server", "no-such-cpu")) {
            assertThatThrownBy(() -> host.createBase(baseSpec("refused-" + model, model), Progress.NONE))
                    .isInstanceOf(AgentException.class).hasMessageContaining(model)
                    .extracting(e -> ((AgentException) e).reason()).isEqualTo(Reason.HOST_UNSUITABLE);
        }
        assertThat(host.listBases()).extracting(BaseVmView::name).containsExactly("guest");
    }

    @Test
    void basePackagesMoveBetweenHomesAndBasesInUseStay() throws Exception {
        Path packageFile = work.resolve("guest.zip");
        host.exportBase("guest", packageFile);
        try (CloudletHost other = CloudletHost.open(work.resolve("other-home"), LibvirtHypervisor.connect(
                "qemu:///system"))) {
            BaseVmView imported = other.importBase(packageFile, Progress.NONE);
            assertThat(imported.baseId()).isEqualTo(host.listBases().get(0).baseId());
            assertThat(other.importBase(packageFile, Progress.NONE)).isEqualTo(imported);
            int port = freePort();
            other.resume("guest", "elsewhere", List.of(forward(port)), Progress.NONE);
            assertThat(get(port, "/", Duration.ofSeconds(30))).contains("cloudlet test guest");
            assertThatThrownBy(() -> other.deleteBase("guest")).isInstanceOf(AgentException.class)
                    .hasMessageContaining("in use by instance 'elsewhere'");
            other.terminate("elsewhere");
            other.deleteBase("guest");
            assertThat(other.listBases()).isEmpty();
        }
    }

    @Test
    void handedOffGuestKeepsCountingAtTheDestinationAndTheSourceIsGone() throws Exception {
        try (CloudletHost destination = otherHome("destination-home", NicMode.KEEP)) {
            int sourcePort = freePort();
            InstanceView running = host.resume("guest", "mobile", List.of(forward(sourcePort)), Progress.NONE);
            String installed = get(sourcePort, "/cgi-bin/install?mb=8&token=handoff", Duration.ofSeconds(120));
            int before = lastCounter(running.consoleLog());
            int destinationPort = freePort();

            Handoff handoff = handOff(host, "mobile", destination, "arrived", destinationPort);

            assertThat(handoff.report().passes()).hasSizeGreaterThanOrEqualTo(2);
            assertThat(handoff.report().downtime()).isLessThan(Duration.ofSeconds(5));
            assertThat(host.listInstances()).isEmpty();
            assertThat(hypervisor.list(vmPrefix())).isEmpty();
            assertThat(handoff.arrived().state()).isEqualTo("running");
            assertThat(get(destinationPort, "/cgi-bin/verify", Duration.ofSeconds(30))).isEqualTo(installed);
            // The guest counts once a second: at the destination it goes on from where it was handed off.
            assertResumedWithoutReboot(handoff.arrived().consoleLog(), before,
                    before + (int) handoff.report().total().toSeconds() + 2);
        } finally {
            terminateAll(work.resolve("destination-home"));
        }
    }

    /**
     * A guest like ifupdown's {@code auto eth0}: it configures the NICs it has at boot once, by
     * name, and never again. With {@link NicMode#KEEP} it answers after resume, synthesis and
     * handoff without running DHCP or noticing anything.
     */
    @Test
    void guestThatConfiguresItsNicOnceAtBootAnswersAfterResumeSynthesisAndHandoff() throws Exception {
        host.createBase(new CloudletHost.BaseSpec("once", guest.disk(), guest.kernel(), guest.initrd(),
                TestGuest.CMDLINE + " " + TestGuest.NET_ONCE_AT_BOOT, 256, 1, CloudletHost.DEFAULT_CPU_MODEL,
                TestGuest.READY, null, Duration.ofSeconds(120)), Progress.NONE);
        try (CloudletHost destination = otherHome("once-destination-home", NicMode.KEEP)) {
            int port = freePort();
            InstanceView developer = host.resume("once", "developer", List.of(forward(port)), Progress.NONE);
            assertThat(get(port, "/", Duration.ofSeconds(5))).contains("cloudlet test guest");
            String installed = get(port, "/cgi-bin/install?mb=8&token=once", Duration.ofSeconds(120));
            int before = lastCounter(developer.consoleLog());
            Path overlay = work.resolve("once/app.overlay");
            host.createOverlay("developer", overlay, Codec.ZSTD, 3, Progress.NONE);
            int after = lastCounter(developer.consoleLog());
            host.terminate("developer");

            SynthesisReport synthesised;
            try (OverlayFileServer server = OverlayFileServer.start(overlay.getParent(), "127.0.0.1", 0)) {
                synthesised = host.synthesize("once", server.url("app.overlay"), "synthesised", List.of(forward(port)),
                        Progress.NONE);
            }
            assertThat(get(port, "/cgi-bin/verify", Duration.ofSeconds(5))).isEqualTo(installed);
            assertResumedWithoutReboot(synthesised.instance().consoleLog(), before, after);
            assertNoDhcpSince(synthesised.instance().consoleLog());

            int destinationPort = freePort();
            Handoff handoff = handOff(host, "synthesised", destination, "arrived", destinationPort);
            assertThat(get(destinationPort, "/cgi-bin/verify", Duration.ofSeconds(5))).isEqualTo(installed);
            assertNoDhcpSince(handoff.arrived().consoleLog());
            assertThat(portIsFree(port)).as("the source's forward is gone with it").isTrue();
        } finally {
            terminateAll(work.resolve("once-destination-home"));
            host.deleteBase("once");
        }
    }

    /**
     * {@link NicMode#REPLACE} on user networking, with the guest that takes hot-plugged NICs: a new
     * instance's NIC is replaced at the same slot with the same id and a new MAC; a handed-off
     * instance's keeps its MAC. Both answer at their forwarded ports.
     */
    @Test
    void replaceModePlugsNewNicsAtTheSameSlotsWithFreshMacsAndAHandedOffInstanceKeepsItsMac() throws Exception {
        try (CloudletHost replacing = otherHome("replace-home", NicMode.REPLACE)) {
            Nic saved = template(replacing, "guest").nics().get(0);
            int port = freePort();
            replacing.resume("guest", "fresh", List.of(forward(port)), Progress.NONE);
            assertThat(get(port, "/", Duration.ofSeconds(30))).contains("cloudlet test guest");
            Nic fresh = Home.open(work.resolve("replace-home")).read("fresh").orElseThrow().nics().get(0);
            assertThat(fresh.id()).isEqualTo(saved.id());
            assertThat(fresh.pciSlot()).isEqualTo(saved.pciSlot());
            assertThat(fresh.mac()).isNotEqualTo(saved.mac());
            assertThat(fresh.forwards()).containsExactly(forward(port));
            assertThat(replacing.instance("fresh").nicMode()).isEqualTo(NicMode.REPLACE);

            int sourcePort = freePort();
            host.resume("guest", "mover", List.of(forward(sourcePort)), Progress.NONE);
            Nic moving = Home.open(work.resolve("home")).read("mover").orElseThrow().nics().get(0);
            assertThat(moving.mac()).as("KEEP recreates the saved NIC").isEqualTo(saved.mac());
            assertThat(host.instance("mover").nicMode()).isEqualTo(NicMode.KEEP);
            int destinationPort = freePort();
            handOff(host, "mover", replacing, "moved", destinationPort);
            assertThat(get(destinationPort, "/", Duration.ofSeconds(30))).contains("cloudlet test guest");
            Nic moved = Home.open(work.resolve("replace-home")).read("moved").orElseThrow().nics().get(0);
            assertThat(moved.mac()).isEqualTo(moving.mac());
            assertThat(moved.pciSlot()).isEqualTo(moving.pciSlot());
        } finally {
            terminateAll(work.resolve("replace-home"));
        }
    }

    @Test
    void handoffToAReceiverThatRefusesLeavesTheGuestRunningHere() throws Exception {
        try (CloudletHost destination = otherHome("refusing-home", NicMode.KEEP);
             ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = freePort();
            host.resume("guest", "stays", List.of(forward(port)), Progress.NONE);
            CompletableFuture<Void> refusal = CompletableFuture.runAsync(() -> {
                try (Socket socket = listener.accept()) {
                    destination.receiveHandoff("never", List.of(forward(freePort())), "expected"::equals,
                            socket.getInputStream(), socket.getOutputStream(), HandoffReceiver.Progress.NONE);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });

            assertThatThrownBy(() -> host.handoff("stays", new InetSocketAddress(InetAddress.getLoopbackAddress(),
                    listener.getLocalPort()), "stale-ticket", 0, HandoffSender.Options.defaults(),
                    HandoffSender.Progress.NONE)).isInstanceOf(AgentException.class)
                    .hasMessageContaining("ticket is not valid");

            assertThatThrownBy(refusal::join).hasMessageContaining("ticket");
            assertThat(host.instance("stays").state()).isEqualTo("running");
            assertThat(get(port, "/", Duration.ofSeconds(30))).contains("cloudlet test guest");
            assertThat(destination.listInstances()).isEmpty();
        } finally {
            terminateAll(work.resolve("refusing-home"));
        }
    }

    // ---- helpers ----

    record Handoff(HandoffSender.Report report, InstanceView arrived) {
    }

    /** Hands {@code instance} off from {@code source} to {@code destination} over loopback as {@code name}. */
    private static Handoff handOff(CloudletHost source, String instance, CloudletHost destination, String name,
                                   int destinationPort) throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<CloudletHost.HandoffArrival> arrival = CompletableFuture.supplyAsync(() -> {
                try (Socket socket = listener.accept()) {
                    return destination.receiveHandoff(name, List.of(forward(destinationPort)), "t-1"::equals,
                            socket.getInputStream(), socket.getOutputStream(), HandoffReceiver.Progress.NONE);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            HandoffSender.Report report = source.handoff(instance, new InetSocketAddress(
                    InetAddress.getLoopbackAddress(), listener.getLocalPort()), "t-1", 0,
                    HandoffSender.Options.defaults(), HandoffSender.Progress.NONE);
            return new Handoff(report, arrival.get(60, TimeUnit.SECONDS).instance());
        }
    }

    /** A second home on this host holding every base VM of the test's home. */
    private CloudletHost otherHome(String directory, NicMode mode) {
        CloudletHost other = CloudletHost.open(work.resolve(directory), LibvirtHypervisor.connect("qemu:///system"),
                mode);
        for (BaseVmView base : host.listBases()) {
            Path packageFile = work.resolve("packages/" + base.name() + ".zip");
            if (!Files.exists(packageFile)) {
                try {
                    Files.createDirectories(packageFile.getParent());
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                host.exportBase(base.name(), packageFile);
            }
            other.importBase(packageFile, Progress.NONE);
        }
        return other;
    }

    /** The VM template of base VM {@code baseName} in {@code host}'s home. */
    private static MachineTemplate template(CloudletHost host, String baseName) throws IOException {
        try (Stream<Path> bases = Files.list(host.home().resolve("bases"))) {
            for (Path directory : bases.toList()) {
                BaseVmManifest manifest = BaseVm.open(directory).manifest();
                if (manifest.name().equals(baseName)) {
                    return Json.mapper().readValue(manifest.vmTemplate(), MachineTemplate.class);
                }
            }
        }
        throw new AssertionError("no base VM " + baseName + " in " + host.home());
    }

    /** No DHCP lease was taken since this console began (a resume): the guest kept its address. */
    private static void assertNoDhcpSince(Path console) throws IOException {
        assertThat(Files.readString(console)).doesNotContain(" has 10.0.2.").doesNotContain(" appeared at ");
    }

    /** Removes every instance of another home, also after a failed test, so no VM outlives the test run. */
    private static void terminateAll(Path root) throws IOException {
        try (CloudletHost other = CloudletHost.open(root, LibvirtHypervisor.connect("qemu:///system"))) {
            for (InstanceView instance : other.listInstances()) {
                other.terminate(instance.name());
            }
        }
        FileTrees.deleteRecursively(root);
    }

    private CloudletHost.BaseSpec baseSpec(String name, String cpuModel) {
        return new CloudletHost.BaseSpec(name, guest.disk(), guest.kernel(), guest.initrd(), TestGuest.CMDLINE, 256, 1,
                cpuModel, TestGuest.READY, null, Duration.ofSeconds(120));
    }

    private void assertRefused(String location, Reason reason, String message) {
        assertThatThrownBy(() -> host.synthesize("guest", location, "refused", List.of(forward(freePort())),
                Progress.NONE)).isInstanceOf(AgentException.class).hasMessageContaining(message)
                .extracting(e -> ((AgentException) e).reason()).isEqualTo(reason);
        assertThat(work.resolve("home/instances/refused")).doesNotExist();
        assertThat(hypervisor.list(vmPrefix())).isEmpty();
    }

    /** The counter goes on from where the overlay caught it: no boot banner, no restart from 0. */
    private static void assertResumedWithoutReboot(Path console, int before, int after) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        int first = -1;
        while (first < 0 && System.nanoTime() < deadline) {
            Matcher matcher = COUNTER.matcher(Files.readString(console));
            first = matcher.find() ? Integer.parseInt(matcher.group(1)) : -1;
            Thread.sleep(100);
        }
        assertThat(first).isGreaterThan(before).isLessThanOrEqualTo(after + 2);
        assertThat(Files.readString(console)).doesNotContain(TestGuest.READY);
    }

    private static int lastCounter(Path console) throws IOException {
        Matcher matcher = COUNTER.matcher(Files.readString(console));
        int last = -1;
        while (matcher.find()) {
            last = Integer.parseInt(matcher.group(1));
        }
        return last;
    }

    private String get(int port, String path, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        IOException last = null;
        long attempt = 500;
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofMillis(
                        path.contains("install") ? timeout.toMillis() : attempt)).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() == 200) {
                    return response.body();
                }
            } catch (IOException e) {
                last = e;
            }
            attempt = Math.min(8000, attempt * 2);
            Thread.sleep(100);
        }
        throw new AssertionError("no answer from port " + port + path, last);
    }

    private int httpStatus(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    private String vmPrefix() {
        return Home.open(work.resolve("home")).vmPrefix();
    }

    private static PortForward forward(int hostPort) {
        return new PortForward("127.0.0.1", hostPort, 80);
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static boolean portIsFree(int port) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress("127.0.0.1", port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static List<Path> children(Path directory) {
        try (Stream<Path> stream = Files.list(directory)) {
            return stream.toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
