package io.cloudlet.agent.hypervisor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import io.cloudlet.agent.AgentException.Reason;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.DomainInfo;
import org.libvirt.LibvirtException;
import org.libvirt.jna.ConnectionPointer;

/**
 * {@link Hypervisor} on libvirt with QEMU, using only stock QEMU features:
 *
 * <ul>
 *   <li>Guest RAM is a shared memory-backend-file at a path the agent chooses (QEMU command-line
 *       passthrough), so the RAM of a paused guest is a plain file.</li>
 *   <li>A snapshot migrates to a unix socket with {@code x-ignore-shared}: only the device state
 *       (a few hundred KB) travels; the RAM stays in its file.</li>
 *   <li>Resume starts QEMU with {@code -incoming defer}, sets {@code x-ignore-shared},
 *       {@code migrate-incoming}s from a unix socket fed with the saved device state, then
 *       continues the guest.</li>
 *   <li>NICs are virtio-net devices on QEMU user networking with host forwards: given on the
 *       command line with the VM (forwards on their {@code -netdev user}), or hot-plugged and
 *       unplugged with QMP {@code netdev_add}/{@code device_add}/{@code device_del} (ACPI PCI
 *       hot-plug).</li>
 * </ul>
 *
 * <p>This is the only class that talks to libvirt; QMP goes through libvirt's monitor passthrough.
 */
public final class LibvirtHypervisor implements Hypervisor {

    private static final int START_PAUSED = 1;
    private static final long MIGRATION_TIMEOUT_MS = 120_000;
    private static final int CONVERGENCE_SYNCS = 30;
    /** The node name libvirt gives the top of a domain's only disk (DomainXml defines one). */
    private static final String DISK_NODE = "libvirt-1-format";
    private static final long UNPLUG_TIMEOUT_MS = 20_000;
    private static final Pattern MODEL = Pattern.compile("<model usable='(yes|no|unknown)'[^>]*>([^<]+)</model>");
    private static final Pattern MACHINE = Pattern.compile("<machine>([^<]+)</machine>");

    /** libvirt prints every error to stderr by default; ours become exceptions instead. Kept for JNA. */
    private static final org.libvirt.jna.Libvirt.VirErrorCallback SILENT = (userData, error) -> { };

    private final CapabilityConnect connect;
    private final ObjectMapper json = new ObjectMapper();
    private final HostInfo host;
    private final String capabilities;

    private LibvirtHypervisor(CapabilityConnect connect) throws LibvirtException {
        this.connect = connect;
        this.capabilities = connect.domainCapabilities();
        Matcher machine = MACHINE.matcher(capabilities);
        long version = connect.getVersion();
        this.host = new HostInfo(version / 1_000_000 + "." + version / 1000 % 1000 + "." + version % 1000,
                machine.find() ? machine.group(1) : "pc", "tcg");
    }

    /** Connects to libvirt at {@code uri}, e.g. {@code qemu:///system}. */
    public static LibvirtHypervisor connect(String uri) {
        try {
            Connect.setErrorCallback(SILENT);
            return new LibvirtHypervisor(new CapabilityConnect(uri));
        } catch (LibvirtException e) {
            throw new HypervisorException(Reason.HOST_UNSUITABLE, "cannot connect to libvirt at " + uri + ": "
                    + e.getMessage() + " (is libvirtd running? bin/setup-host starts it)");
        }
    }

    @Override
    public HostInfo host() {
        return host;
    }

    @Override
    public void checkRunnable(String cpuModel, String machineType) {
        Matcher model = MODEL.matcher(capabilities);
        String usable = null;
        while (model.find()) {
            if (model.group(2).equals(cpuModel)) {
                usable = model.group(1);
                break;
            }
        }
        if (usable == null) {
            throw new HypervisorException(Reason.HOST_UNSUITABLE, "this host does not know CPU model '" + cpuModel
                    + "'");
        }
        if (!usable.equals("yes")) {
            throw new HypervisorException(Reason.HOST_UNSUITABLE, "this host cannot run CPU model '" + cpuModel
                    + "' (QEMU " + host.emulatorVersion() + ", " + host.accelerator() + ")");
        }
        if (machineType != null && !machineType.equals(host.machineType())
                && !capabilities.contains(">" + machineType + "<")) {
            throw new HypervisorException(Reason.HOST_UNSUITABLE, "this host does not offer machine type '"
                    + machineType + "'");
        }
    }

    @Override
    public void boot(MachineSpec spec) {
        try {
            connect.domainCreateXML(DomainXml.of(spec, false), 0);
        } catch (LibvirtException e) {
            throw failure("cannot start VM " + spec.name(), e);
        }
    }

    @Override
    public void resume(MachineSpec spec, Path deviceState) {
        prepareIncoming(spec);
        completeIncoming(spec.name(), deviceState);
    }

    @Override
    public void prepareIncoming(MachineSpec spec) {
        Domain domain;
        try {
            domain = connect.domainCreateXML(DomainXml.of(spec, true), START_PAUSED);
        } catch (LibvirtException e) {
            throw failure("cannot start VM " + spec.name(), e);
        }
        try {
            qmp(domain, "migrate-set-capabilities", capabilityArguments());
        } catch (RuntimeException e) {
            destroyQuietly(domain);
            throw e;
        }
    }

    @Override
    public void completeIncoming(String name, Path deviceState) {
        Domain domain = lookup(name);
        Path socket = socketPath();
        try {
            ObjectNode incoming = json.createObjectNode().put("uri", "unix:" + socket);
            qmp(domain, "migrate-incoming", incoming);
            try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
                 FileChannel state = FileChannel.open(deviceState, StandardOpenOption.READ)) {
                channel.connect(UnixDomainSocketAddress.of(socket));
                long size = state.size();
                long sent = 0;
                while (sent < size) {
                    sent += state.transferTo(sent, size - sent, channel);
                }
                channel.shutdownOutput();
                awaitMigration(domain, name);
            }
            domain.resume();
        } catch (LibvirtException | IOException | RuntimeException e) {
            destroyQuietly(domain);
            if (e instanceof HypervisorException hypervisorException) {
                throw hypervisorException;
            }
            throw new HypervisorException("cannot resume VM " + name + " from its device state: "
                    + message(e), e);
        } finally {
            deleteQuietly(socket);
        }
    }

    @Override
    public MigrationStats migrateWithStorage(String source, MachineSpec destination, long bytesPerSecond,
                                             UnaryOperator<Path> route) {
        Domain from = lookup(source);
        Domain to;
        try {
            to = connect.domainCreateXML(DomainXml.of(destination, true), START_PAUSED);
        } catch (LibvirtException e) {
            throw failure("cannot start VM " + destination.name(), e);
        }
        Path nbd = socketPath();
        Path memory = socketPath();
        boolean mirroring = false;
        try {
            // As libvirt migrates without shared storage: the destination exports its empty disk over
            // NBD, the source mirrors its whole disk into it, then RAM follows by pre-copy migration.
            qmp(to, "nbd-server-start", (ObjectNode) json.readTree("{\"addr\":{\"type\":\"unix\",\"data\":{\"path\":"
                    + json.writeValueAsString(nbd.toString()) + "}}}"));
            qmp(to, "block-export-add", json.createObjectNode().put("type", "nbd").put("id", "migration")
                    .put("node-name", DISK_NODE).put("writable", true));
            qmp(to, "migrate-incoming", json.createObjectNode().put("uri", "unix:" + memory));
            ObjectNode target = json.createObjectNode().put("driver", "nbd").put("node-name", "migration-target")
                    .put("export", DISK_NODE);
            target.putObject("server").put("type", "unix").put("path", route.apply(nbd).toString());
            long started = System.nanoTime();
            qmp(from, "blockdev-add", target);
            qmp(from, "blockdev-mirror", json.createObjectNode().put("job-id", "migration").put("device", DISK_NODE)
                    .put("target", "migration-target").put("sync", "full"));
            mirroring = true;
            long disk = awaitMirrorReady(from, source);
            ObjectNode capabilities = json.createObjectNode();
            var list = capabilities.putArray("capabilities");
            list.addObject().put("capability", "x-ignore-shared").put("state", false);
            // Without it a guest that keeps dirtying pages never converges on a slow link (seen at
            // 10 Mbit/s): QEMU's own remedy throttles the vCPUs until the rest fits the downtime limit.
            list.addObject().put("capability", "auto-converge").put("state", true);
            qmp(from, "migrate-set-capabilities", capabilities);
            qmp(from, "migrate-set-parameters", json.createObjectNode().put("max-bandwidth", bytesPerSecond));
            qmp(from, "migrate", json.createObjectNode().put("uri", "unix:" + route.apply(memory)));
            JsonNode status = awaitOutgoing(from, source);
            long completed = System.nanoTime();
            qmp(from, "block-job-cancel", json.createObjectNode().put("device", "migration"));
            mirroring = false;
            awaitMigration(to, destination.name());
            // The mirror is in sync and the source stopped: drop its NBD client, then run the destination.
            qmp(to, "block-export-del", json.createObjectNode().put("id", "migration").put("mode", "hard"));
            qmp(to, "nbd-server-stop", null);
            to.resume();
            long running = System.nanoTime();
            long limit = qmp(from, "query-migrate-parameters", null).path("downtime-limit").asLong();
            destroyQuietly(from);
            // QEMU's downtime ends when the source completes; the destination runs a little later.
            return new MigrationStats(java.time.Duration.ofNanos(running - started),
                    java.time.Duration.ofMillis(status.path("downtime").asLong()).plusNanos(running - completed),
                    status.path("ram").path("transferred").asLong() + disk, limit);
        } catch (LibvirtException | IOException | RuntimeException e) {
            destroyQuietly(to);
            if (mirroring) {
                try {
                    qmp(from, "block-job-cancel", json.createObjectNode().put("device", "migration").put("force", true));
                } catch (RuntimeException cancel) {
                    e.addSuppressed(cancel);
                }
            }
            if (e instanceof HypervisorException hypervisorException) {
                throw hypervisorException;
            }
            throw new HypervisorException("migration of VM " + source + " failed: " + message(e), e);
        } finally {
            deleteQuietly(nbd);
            deleteQuietly(memory);
        }
    }

    /** Waits until the disk mirror has copied everything once; returns the bytes it covered. */
    private long awaitMirrorReady(Domain domain, String name) {
        long deadline = System.nanoTime() + TimeUnit.HOURS.toNanos(1);
        while (System.nanoTime() < deadline) {
            for (JsonNode job : qmp(domain, "query-block-jobs", null)) {
                if ("migration".equals(job.path("device").asText()) && job.path("ready").asBoolean()) {
                    return job.path("len").asLong();
                }
            }
            sleep(20);
        }
        throw new HypervisorException(Reason.FAILED, "the disk mirror of VM " + name + " took over an hour");
    }

    /**
     * Polls query-migrate on the sending side until it completes. A migration still iterating after
     * {@link #CONVERGENCE_SYNCS} dirty-memory syncs, with auto-converge at work, will not reach the
     * downtime limit; as an operator would ({@code virsh migrate-setmaxdowntime}), the limit is
     * then raised once to what QEMU expects, so that it completes.
     */
    private JsonNode awaitOutgoing(Domain domain, String name) {
        long deadline = System.nanoTime() + TimeUnit.HOURS.toNanos(1);
        boolean raised = false;
        while (System.nanoTime() < deadline) {
            JsonNode status = qmp(domain, "query-migrate", null);
            String state = status.path("status").asText("none");
            if (state.equals("completed")) {
                return status;
            }
            if (!raised && status.path("ram").path("dirty-sync-count").asInt() > CONVERGENCE_SYNCS) {
                long expected = status.path("expected-downtime").asLong(300);
                qmp(domain, "migrate-set-parameters", json.createObjectNode().put("downtime-limit",
                        Math.max(300, expected * 5 / 4)));
                raised = true;
            }
            if (state.equals("failed") || state.equals("cancelled")) {
                throw new HypervisorException(Reason.FAILED, "migration of VM " + name + " " + state + ": "
                        + status.path("error-desc").asText(""));
            }
            sleep(20);
        }
        throw new HypervisorException(Reason.FAILED, "migration of VM " + name + " took over an hour");
    }

    @Override
    public void pause(String name) {
        Domain domain = lookup(name);
        try {
            if (domain.getInfo().state == DomainInfo.DomainState.VIR_DOMAIN_RUNNING) {
                domain.suspend();
            }
        } catch (LibvirtException e) {
            throw failure("cannot pause VM " + name, e);
        }
    }

    @Override
    public void unpause(String name) {
        Domain domain = lookup(name);
        try {
            if (domain.getInfo().state != DomainInfo.DomainState.VIR_DOMAIN_RUNNING) {
                domain.resume();
            }
        } catch (LibvirtException e) {
            throw failure("cannot continue VM " + name, e);
        }
    }

    @Override
    public void saveDeviceState(String name, Path target) {
        pause(name);
        Domain domain = lookup(name);
        Path socket = socketPath();
        Path partial = target.resolveSibling(target.getFileName() + ".partial");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            CompletableFuture<Long> received = CompletableFuture.supplyAsync(() -> receive(server, partial));
            qmp(domain, "migrate-set-capabilities", capabilityArguments());
            qmp(domain, "migrate", json.createObjectNode().put("uri", "unix:" + socket));
            try {
                awaitMigration(domain, name);
            } catch (RuntimeException e) {
                server.close();
                throw e;
            }
            received.get(MIGRATION_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (ExecutionException e) {
            deleteQuietly(partial);
            throw new HypervisorException("cannot save the device state of VM " + name + ": "
                    + message(e.getCause()), e.getCause());
        } catch (IOException | TimeoutException e) {
            deleteQuietly(partial);
            throw new HypervisorException("cannot save the device state of VM " + name + ": " + message(e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            deleteQuietly(partial);
            throw new HypervisorException("interrupted while saving the device state of VM " + name, e);
        } catch (RuntimeException e) {
            deleteQuietly(partial);
            throw e;
        } finally {
            deleteQuietly(socket);
        }
    }

    private static long receive(ServerSocketChannel server, Path partial) {
        try (SocketChannel channel = server.accept();
             FileChannel out = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     StandardOpenOption.TRUNCATE_EXISTING)) {
            long total = 0;
            long read;
            while ((read = out.transferFrom(channel, total, 1 << 20)) > 0) {
                total += read;
            }
            return total;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Override
    public void attachNic(String name, Nic nic) {
        Domain domain = lookup(name);
        ObjectNode netdev = json.createObjectNode().put("type", "user").put("id", netdevId(nic.id()));
        var forwards = netdev.putArray("hostfwd");
        for (PortForward forward : nic.forwards()) {
            forwards.addObject().put("str", "tcp:" + forward.hostAddress() + ":" + forward.hostPort() + "-:"
                    + forward.guestPort());
        }
        qmp(domain, "netdev_add", netdev);
        ObjectNode device = json.createObjectNode()
                .put("driver", "virtio-net-pci")
                .put("id", nic.id())
                .put("netdev", netdevId(nic.id()))
                .put("mac", nic.mac())
                .put("bus", "pci.0")
                .put("addr", String.format("0x%x", nic.pciSlot()));
        try {
            qmp(domain, "device_add", device);
        } catch (RuntimeException e) {
            try {
                qmp(domain, "netdev_del", json.createObjectNode().put("id", netdevId(nic.id())));
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    @Override
    public void detachNic(String name, String nicId) {
        Domain domain = lookup(name);
        qmp(domain, "device_del", json.createObjectNode().put("id", nicId));
        long deadline = System.currentTimeMillis() + UNPLUG_TIMEOUT_MS;
        ObjectNode peripherals = json.createObjectNode().put("path", "/machine/peripheral");
        while (true) {
            boolean present = false;
            for (JsonNode child : qmp(domain, "qom-list", peripherals)) {
                present |= nicId.equals(child.path("name").asText());
            }
            if (!present) {
                break;
            }
            if (System.currentTimeMillis() > deadline) {
                throw new HypervisorException(Reason.FAILED, "the guest of VM " + name + " did not release NIC "
                        + nicId + " within " + UNPLUG_TIMEOUT_MS / 1000 + " s (no ACPI hot-plug support?)");
            }
            sleep(20);
        }
        qmp(domain, "netdev_del", json.createObjectNode().put("id", netdevId(nicId)));
    }

    @Override
    public Optional<VmState> state(String name) {
        Optional<Domain> domain = find(name);
        if (domain.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(switch (domain.get().getInfo().state) {
                case VIR_DOMAIN_RUNNING, VIR_DOMAIN_BLOCKED -> VmState.RUNNING;
                case VIR_DOMAIN_PAUSED -> VmState.PAUSED;
                case VIR_DOMAIN_SHUTDOWN, VIR_DOMAIN_SHUTOFF -> VmState.SHUTOFF;
                case VIR_DOMAIN_CRASHED -> VmState.CRASHED;
                default -> VmState.OTHER;
            });
        } catch (LibvirtException e) {
            return Optional.empty();
        }
    }

    @Override
    public List<String> list(String prefix) {
        List<String> names = new ArrayList<>();
        try {
            for (int id : connect.listDomains()) {
                try {
                    String name = connect.domainLookupByID(id).getName();
                    if (name.startsWith(prefix)) {
                        names.add(name);
                    }
                } catch (LibvirtException e) {
                    // The domain went away between listing and lookup.
                }
            }
            for (String name : connect.listDefinedDomains()) {
                if (name.startsWith(prefix) && !names.contains(name)) {
                    names.add(name);
                }
            }
        } catch (LibvirtException e) {
            throw failure("cannot list VMs", e);
        }
        return names;
    }

    @Override
    public void destroy(String name) {
        find(name).ifPresent(domain -> {
            try {
                domain.destroy();
            } catch (LibvirtException e) {
                if (find(name).isPresent()) {
                    throw failure("cannot destroy VM " + name, e);
                }
            }
        });
    }

    @Override
    public void close() {
        try {
            connect.close();
        } catch (LibvirtException e) {
            // Closing a connection that failed is not worth reporting.
        }
    }

    // ---- helpers ----

    private ObjectNode capabilityArguments() {
        ObjectNode arguments = json.createObjectNode();
        arguments.putArray("capabilities").addObject().put("capability", "x-ignore-shared").put("state", true);
        return arguments;
    }

    /** Polls query-migrate until the migration completes; fails when it fails or times out. */
    private void awaitMigration(Domain domain, String name) {
        long deadline = System.currentTimeMillis() + MIGRATION_TIMEOUT_MS;
        while (true) {
            JsonNode status = qmp(domain, "query-migrate", null);
            String state = status.path("status").asText("none");
            switch (state) {
                case "completed" -> {
                    return;
                }
                case "failed", "cancelled" -> throw new HypervisorException(Reason.FAILED, "device state transfer of VM "
                        + name + " " + state + (status.has("error-desc") ? ": " + status.get("error-desc").asText() : ""));
                default -> {
                    if (System.currentTimeMillis() > deadline) {
                        throw new HypervisorException(Reason.FAILED, "device state transfer of VM " + name
                                + " did not complete within " + MIGRATION_TIMEOUT_MS / 1000 + " s (" + state + ")");
                    }
                    sleep(5);
                }
            }
        }
    }

    private JsonNode qmp(Domain domain, String command, ObjectNode arguments) {
        ObjectNode request = json.createObjectNode().put("execute", command);
        if (arguments != null) {
            request.set("arguments", arguments);
        }
        try {
            String reply = domain.qemuMonitorCommand(json.writeValueAsString(request), 0);
            JsonNode node = json.readTree(reply);
            if (node.has("error")) {
                throw new HypervisorException(Reason.FAILED, command + " failed: " + node.get("error").path("desc")
                        .asText());
            }
            return node.path("return");
        } catch (LibvirtException e) {
            throw failure(command + " failed", e);
        } catch (IOException e) {
            throw new HypervisorException("unreadable reply to " + command + ": " + e.getMessage(), e);
        }
    }

    private Domain lookup(String name) {
        return find(name).orElseThrow(() -> new HypervisorException(Reason.NOT_FOUND, "there is no VM " + name));
    }

    private Optional<Domain> find(String name) {
        try {
            return Optional.of(connect.domainLookupByName(name));
        } catch (LibvirtException e) {
            return Optional.empty();
        }
    }

    private static void destroyQuietly(Domain domain) {
        try {
            domain.destroy();
        } catch (LibvirtException e) {
            // Already gone.
        }
    }

    private static String netdevId(String nicId) {
        return "host" + nicId;
    }

    /** A unix socket path short enough for sun_path (108 bytes), wherever the agent's home is. */
    private static Path socketPath() {
        return Path.of(System.getProperty("java.io.tmpdir"), "cloudlet-" + UUID.randomUUID().toString()
                .substring(0, 13) + ".sock");
    }

    private static void deleteQuietly(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            // A stale socket or partial file in a temporary directory is harmless.
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HypervisorException("interrupted", e);
        }
    }

    private static HypervisorException failure(String what, LibvirtException e) {
        return new HypervisorException(what + ": " + message(e), e);
    }

    private static String message(Throwable e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return message.replace('\n', ' ');
    }

    /** A libvirt connection that can also ask for domain capabilities, which libvirt-java lacks. */
    private static final class CapabilityConnect extends Connect {

        CapabilityConnect(String uri) throws LibvirtException {
            super(uri);
        }

        String domainCapabilities() throws LibvirtException {
            Pointer xml = DomainCapabilitiesCall.LIBRARY.virConnectGetDomainCapabilities(vcp, null, "x86_64", null,
                    "qemu", 0);
            if (xml == null) {
                throw new HypervisorException(Reason.HOST_UNSUITABLE,
                        "libvirt reports no QEMU domain capabilities for x86_64 (is qemu-system-x86 installed?)");
            }
            try {
                return xml.getString(0, "UTF-8");
            } finally {
                Native.free(Pointer.nativeValue(xml));
            }
        }
    }

    /** The one libvirt call this class needs beyond libvirt-java. */
    interface DomainCapabilitiesCall extends com.sun.jna.Library {
        DomainCapabilitiesCall LIBRARY = Native.load("virt", DomainCapabilitiesCall.class);

        Pointer virConnectGetDomainCapabilities(ConnectionPointer connection, String emulator, String arch,
                                                String machine, String virtType, int flags);
    }
}
