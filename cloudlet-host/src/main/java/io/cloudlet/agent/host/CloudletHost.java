package io.cloudlet.agent.host;

import io.cloudlet.agent.AgentException;
import io.cloudlet.agent.AgentException.Reason;
import io.cloudlet.agent.fetch.HttpOverlaySource;
import io.cloudlet.agent.hypervisor.HostInfo;
import io.cloudlet.agent.hypervisor.Hypervisor;
import io.cloudlet.agent.hypervisor.MachineSpec;
import io.cloudlet.agent.hypervisor.Nic;
import io.cloudlet.agent.hypervisor.PortForward;
import io.cloudlet.agent.hypervisor.VmState;
import io.cloudlet.engine.FileTrees;
import io.cloudlet.engine.InvalidArtifactException;
import io.cloudlet.engine.Json;
import io.cloudlet.engine.basevm.BaseVm;
import io.cloudlet.engine.basevm.BaseVmDescription;
import io.cloudlet.engine.basevm.BaseVmManifest;
import io.cloudlet.engine.basevm.BaseVmPackage;
import io.cloudlet.engine.handoff.HandoffReceiver;
import io.cloudlet.engine.handoff.HandoffSender;
import io.cloudlet.engine.handoff.Throttle;
import io.cloudlet.engine.image.ImageKind;
import io.cloudlet.engine.image.ImageReader;
import io.cloudlet.engine.image.RawImageReader;
import io.cloudlet.engine.overlay.Codec;
import io.cloudlet.engine.overlay.FileOverlaySource;
import io.cloudlet.engine.overlay.OverlayCreator;
import io.cloudlet.engine.overlay.OverlayMeta;
import io.cloudlet.engine.overlay.OverlaySource;
import io.cloudlet.engine.qcow2.Qcow2Reader;
import io.cloudlet.engine.qcow2.Qcow2Writer;
import io.cloudlet.engine.synthesis.OverlayApplier;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * The operations of a cloudlet host over a home directory and a {@link Hypervisor}: what the
 * `cloudlet` command runs directly and the agent service runs on command. Every operation either
 * completes or leaves nothing behind (no VM, no files, no reserved port).
 */
public final class CloudletHost implements AutoCloseable {

    /** The CPU model base VMs are pinned to unless told otherwise. */
    public static final String DEFAULT_CPU_MODEL = "core2duo";
    private static final int CONNECT_TIMEOUT_MS = 10_000;
    private static final String KERNEL = "vmlinuz";
    private static final String INITRD = "initrd";
    private static final String DISK = "disk.qcow2";
    private static final String MEMORY = "memory.raw";
    private static final String CONSOLE = "console.log";
    private static final String STATE = "device.state";

    private final Home home;
    private final Hypervisor hypervisor;
    private final GuestNetwork network;
    private final int threads;
    private final SecureRandom random = new SecureRandom();

    private CloudletHost(Home home, Hypervisor hypervisor, NicMode nicMode, int threads) {
        this.home = home;
        this.hypervisor = hypervisor;
        this.network = new GuestNetwork(hypervisor, nicMode, this::randomMac);
        this.threads = threads;
    }

    /**
     * Opens (creating if needed) the home at {@code root}, driving VMs through {@code hypervisor},
     * with {@link NicMode#KEEP}.
     */
    public static CloudletHost open(Path root, Hypervisor hypervisor) {
        return open(root, hypervisor, NicMode.KEEP);
    }

    /**
     * Opens (creating if needed) the home at {@code root}, driving VMs through {@code hypervisor}
     * and bringing resumed VMs onto the network as {@code nicMode} says.
     *
     * @throws AgentException when the home cannot be created or read
     */
    public static CloudletHost open(Path root, Hypervisor hypervisor, NicMode nicMode) {
        return new CloudletHost(Home.open(root), hypervisor, nicMode,
                Math.max(1, Runtime.getRuntime().availableProcessors()));
    }

    /** How this host brings resumed VMs onto its network. */
    public NicMode nicMode() {
        return network.mode();
    }

    public Path home() {
        return home.root();
    }

    public HostInfo hostInfo() {
        return hypervisor.host();
    }

    // ==== base VMs ====

    /**
     * What {@link #createBase} boots.
     *
     * @param name        name of the new base VM
     * @param disk        raw disk image (copied; the original is not touched)
     * @param kernel      kernel for direct boot, or null to boot the disk
     * @param initrd      initrd, or null
     * @param cmdline     kernel command line, or null
     * @param memoryMib   RAM in MiB
     * @param vcpus       virtual CPUs
     * @param cpuModel    guest CPU model the base VM is pinned to
     * @param readySerial text on the serial console that says the guest is ready, or null
     * @param readyAfter  otherwise: how long after boot the guest is taken as ready
     * @param readyTimeout how long to wait for {@code readySerial}
     */
    public record BaseSpec(String name, Path disk, Path kernel, Path initrd, String cmdline, int memoryMib, int vcpus,
                           String cpuModel, String readySerial, Duration readyAfter, Duration readyTimeout) {
    }

    /**
     * Boots a fresh VM from {@code spec}, waits until it is ready, pauses it, saves its memory and
     * device state, hashes disk and memory and registers the result as a base VM.
     */
    public BaseVmView createBase(BaseSpec spec, Progress progress) {
        Home.checkName("base VM", spec.name());
        requireFile("disk", spec.disk());
        if (spec.kernel() != null) {
            requireFile("kernel", spec.kernel());
        }
        if (spec.initrd() != null) {
            requireFile("initrd", spec.initrd());
            if (spec.kernel() == null) {
                throw new AgentException(Reason.BAD_REQUEST, "--initrd needs --kernel");
            }
        }
        if (spec.memoryMib() < 64 || spec.memoryMib() > 65536 || spec.vcpus() < 1 || spec.vcpus() > 64) {
            throw new AgentException(Reason.BAD_REQUEST, "memory must be 64-65536 MiB and vCPUs 1-64");
        }
        checkRawDisk(spec.disk());
        if (findBase(spec.name()).isPresent()) {
            throw new AgentException(Reason.CONFLICT, "a base VM named '" + spec.name() + "' exists already");
        }
        String cpuModel = spec.cpuModel() == null ? DEFAULT_CPU_MODEL : spec.cpuModel();
        HostInfo host = hypervisor.host();
        hypervisor.checkRunnable(cpuModel, host.machineType());

        String vm = home.vmPrefix() + "b-" + spec.name();
        Path staging = null;
        try {
            staging = home.staging("base-" + spec.name());
            progress.report("copy", -1);
            sparseCopy(spec.disk(), staging.resolve(BaseVm.DISK));
            List<String> attachments = new ArrayList<>(List.of(STATE));
            if (spec.kernel() != null) {
                Files.copy(spec.kernel(), staging.resolve(KERNEL));
                attachments.add(KERNEL);
            }
            if (spec.initrd() != null) {
                Files.copy(spec.initrd(), staging.resolve(INITRD));
                attachments.add(INITRD);
            }
            MachineTemplate template = new MachineTemplate(spec.vcpus(), spec.memoryMib(),
                    spec.kernel() == null ? null : KERNEL, spec.initrd() == null ? null : INITRD, spec.cmdline(),
                    List.of(new Nic("nic0", randomMac(), Nic.FIRST_SLOT, List.of())));
            MachineSpec machine = new MachineSpec(vm, home.root().toString(), template.vcpus(), template.memoryMib(),
                    staging.resolve(BaseVm.MEMORY), staging.resolve(BaseVm.DISK), "raw", null,
                    template.kernel() == null ? null : staging.resolve(KERNEL),
                    template.initrd() == null ? null : staging.resolve(INITRD), template.cmdline(), cpuModel,
                    host.machineType(), staging.resolve(CONSOLE), template.nics());
            progress.report("boot", -1);
            hypervisor.boot(machine);
            awaitReady(vm, staging.resolve(CONSOLE), spec, progress);
            progress.report("snapshot", -1);
            hypervisor.saveDeviceState(vm, staging.resolve(STATE));
            hypervisor.destroy(vm);
            Files.deleteIfExists(staging.resolve(CONSOLE));
            progress.report("hash", -1);
            BaseVm sealed = BaseVm.seal(staging, new BaseVmDescription(spec.name(), host.machineType(), cpuModel,
                    host.emulatorVersion(), Json.mapper().writeValueAsString(template), attachments), threads);
            Path stagingDir = staging;
            BaseVm registered = home.locked(() -> {
                Optional<BaseVm> clash = findBase(spec.name());
                if (clash.isPresent()) {
                    throw new AgentException(Reason.CONFLICT, "a base VM named '" + spec.name() + "' exists already");
                }
                Path target = home.bases().resolve(sealed.baseId());
                if (Files.exists(target)) {
                    throw new AgentException(Reason.CONFLICT, "an identical base VM is registered already as '"
                            + BaseVm.open(target).manifest().name() + "'");
                }
                Files.move(stagingDir, target, StandardCopyOption.ATOMIC_MOVE);
                return BaseVm.open(target);
            });
            staging = null;
            progress.report("done", 100);
            return view(registered);
        } catch (IOException e) {
            throw failure("creating base VM '" + spec.name() + "' failed", e);
        } finally {
            hypervisor.destroy(vm);
            if (staging != null) {
                FileTrees.deleteQuietly(staging, null);
            }
        }
    }

    private void awaitReady(String vm, Path console, BaseSpec spec, Progress progress) throws IOException {
        if (spec.readySerial() == null) {
            Duration after = spec.readyAfter() == null ? Duration.ofSeconds(5) : spec.readyAfter();
            sleep(after.toMillis());
            return;
        }
        long deadline = System.nanoTime() + spec.readyTimeout().toNanos();
        byte[] marker = spec.readySerial().getBytes(StandardCharsets.UTF_8);
        while (true) {
            if (Files.exists(console) && indexOf(Files.readAllBytes(console), marker) >= 0) {
                return;
            }
            if (hypervisor.state(vm).filter(state -> state == VmState.RUNNING).isEmpty()) {
                throw new AgentException(Reason.FAILED, "the VM stopped before its console showed '"
                        + spec.readySerial() + "'");
            }
            if (System.nanoTime() > deadline) {
                throw new AgentException(Reason.FAILED, "the VM's console did not show '" + spec.readySerial()
                        + "' within " + spec.readyTimeout().toSeconds() + " s");
            }
            progress.report("boot", -1);
            sleep(100);
        }
    }

    /** Every registered base VM, by name. */
    public List<BaseVmView> listBases() {
        List<BaseVmView> views = new ArrayList<>();
        for (BaseVm base : bases()) {
            views.add(view(base));
        }
        views.sort(java.util.Comparator.comparing(BaseVmView::name));
        return views;
    }

    /** Writes base VM {@code name} as a package (zip) to {@code target}. */
    public void exportBase(String name, Path target) {
        BaseVm base = base(name);
        try {
            BaseVmPackage.export(base, target);
        } catch (IOException e) {
            throw failure("exporting base VM '" + name + "' failed", e);
        }
    }

    /**
     * Imports a base VM package, verifying every chunk. Importing the same base VM again is a
     * no-op; a different base VM under a name that is taken is refused.
     */
    public BaseVmView importBase(Path packageFile, Progress progress) {
        requireFile("base VM package", packageFile);
        Path staging = null;
        try {
            staging = home.staging("import");
            progress.report("verify", -1);
            BaseVm imported = BaseVmPackage.importFile(packageFile, staging, threads);
            Path importedDir = imported.directory();
            BaseVm registered = home.locked(() -> {
                Path target = home.bases().resolve(imported.baseId());
                if (Files.exists(target)) {
                    return BaseVm.open(target);
                }
                Optional<BaseVm> clash = findBase(imported.manifest().name());
                if (clash.isPresent()) {
                    throw new AgentException(Reason.CONFLICT, "a different base VM named '"
                            + imported.manifest().name() + "' exists already (" + clash.get().baseId() + ")");
                }
                Files.move(importedDir, target, StandardCopyOption.ATOMIC_MOVE);
                return BaseVm.open(target);
            });
            progress.report("done", 100);
            return view(registered);
        } catch (IOException e) {
            throw failure("importing " + packageFile + " failed", e);
        } finally {
            if (staging != null) {
                FileTrees.deleteQuietly(staging, null);
            }
        }
    }

    /**
     * Imports a base VM package read from {@code in} (a download, say), through a file in the
     * home's staging area; see {@link #importBase(Path, Progress)}.
     */
    public BaseVmView importBase(java.io.InputStream in, Progress progress) {
        Path staging = null;
        try {
            staging = home.staging("download");
            Path file = staging.resolve("package.zip");
            progress.report("download", -1);
            Files.copy(in, file);
            return importBase(file, progress);
        } catch (IOException e) {
            throw failure("receiving a base VM package failed", e);
        } finally {
            if (staging != null) {
                FileTrees.deleteQuietly(staging, null);
            }
        }
    }

    /** Whether a base VM with id {@code baseId} is registered, under the name returned. */
    public Optional<String> baseNameOf(String baseId) {
        return bases().stream().filter(b -> b.baseId().equals(baseId)).map(b -> b.manifest().name()).findFirst();
    }

    /** Removes base VM {@code name}; refused while an instance runs on it. */
    public void deleteBase(String name) {
        BaseVm base = base(name);
        home.locked(() -> {
            for (String instance : home.instanceNames()) {
                Optional<InstanceRecord> record = home.read(instance);
                if (record.isPresent() && record.get().baseId().equals(base.baseId())) {
                    throw new AgentException(Reason.CONFLICT, "base VM '" + name + "' is in use by instance '"
                            + instance + "'");
                }
            }
            // Move aside first so a crash never leaves a half-deleted base VM that looks registered.
            Path trash = home.staging("delete");
            Files.move(base.directory(), trash.resolve(base.baseId()), StandardCopyOption.ATOMIC_MOVE);
            FileTrees.deleteRecursively(trash);
            return null;
        });
    }

    // ==== instances ====

    /** Resumes base VM {@code baseName} as a new instance with its own copy-on-write disk and RAM file. */
    public InstanceView resume(String baseName, String name, List<PortForward> forwards, Progress progress) {
        BaseVm base = base(baseName);
        MachineTemplate template = template(base);
        checkHost(base);
        String instanceName = name == null ? generatedName(base) : name;
        InstanceRecord record = reserve(instanceName, base, "resume", null, forwards);
        Path directory = home.instance(instanceName);
        try {
            progress.report("prepare", -1);
            try (Qcow2Writer disk = new Qcow2Writer(directory.resolve(DISK), base.disk(),
                    base.manifest().disk().size())) {
                disk.finish();
            }
            sparseCopy(base.memory(), directory.resolve(MEMORY));
            progress.report("resume", -1);
            InstanceRecord ready = launch(base, template, record, base.attachment(STATE), template.nics());
            progress.report("done", 100);
            return view(ready);
        } catch (IOException | RuntimeException e) {
            discard(record, e);
            throw e instanceof IOException io ? failure("resuming base VM '" + baseName + "' failed", io)
                    : (RuntimeException) e;
        }
    }

    /**
     * Synthesises an instance of base VM {@code baseName} from the overlay at {@code location} (a
     * file path or an http(s) URL, streamed), then resumes it.
     */
    public SynthesisReport synthesize(String baseName, String location, String name, List<PortForward> forwards,
                                      Progress progress) {
        long started = System.nanoTime();
        BaseVm base = base(baseName);
        MachineTemplate template = template(base);
        checkHost(base);
        progress.report("fetch", -1);
        try (OverlaySource source = openOverlay(location)) {
            OverlayMeta meta = source.header().meta();
            if (!meta.baseId().equals(base.baseId())) {
                throw new AgentException(Reason.BAD_REQUEST, "overlay " + location + " was made for base VM "
                        + meta.baseId() + ", not for '" + baseName + "' (" + base.baseId() + ")");
            }
            String instanceName = name == null ? generatedName(base) : name;
            InstanceRecord record = reserve(instanceName, base, "synthesis", location, forwards);
            Path directory = home.instance(instanceName);
            try {
                long applying = System.nanoTime();
                int segments = meta.segments().size();
                OverlayApplier.apply(base, source, directory.resolve(DISK), directory.resolve(MEMORY),
                        OverlayApplier.Options.defaults(), (done, total, bytes) ->
                                progress.report("apply", segments == 0 ? 100 : (int) (100L * done / total)));
                byte[] deviceState = source.attachment(LaunchState.DEVICE_STATE);
                LaunchState launch = readLaunchState(source.attachment(LaunchState.ATTACHMENT));
                Files.write(directory.resolve(STATE), deviceState);
                Duration fetch = source instanceof HttpOverlaySource http ? http.fetchTime()
                        : Duration.ofNanos(System.nanoTime() - applying);
                Duration apply = Duration.ofNanos(System.nanoTime() - applying);
                long resuming = System.nanoTime();
                progress.report("resume", -1);
                InstanceRecord ready = launch(base, template, record, directory.resolve(STATE), launch.nics());
                long done = System.nanoTime();
                progress.report("done", 100);
                return new SynthesisReport(view(ready), source.header().totalLength(), fetch, apply,
                        Duration.ofNanos(done - resuming), Duration.ofNanos(done - started));
            } catch (IOException | RuntimeException e) {
                discard(record, e);
                throw e;
            }
        } catch (IOException e) {
            throw failure("synthesis from " + location + " failed", e);
        }
    }

    /**
     * Creates the overlay of a running instance against its base VM at {@code out}: the instance is
     * paused, its device state saved, disk changes read from its copy-on-write layer and memory
     * compared page by page with the base; then it runs on.
     */
    public OverlayReport createOverlay(String instanceName, Path out, Codec codec, Integer level, Progress progress) {
        InstanceRecord record = instanceRecord(instanceName);
        BaseVm base = baseById(record.baseId());
        if (hypervisor.state(record.vm()).filter(s -> s == VmState.RUNNING || s == VmState.PAUSED).isEmpty()) {
            throw new AgentException(Reason.CONFLICT, "instance '" + instanceName + "' is not running");
        }
        OverlayCreator.Options options = level == null ? OverlayCreator.Options.of(codec)
                : new OverlayCreator.Options(codec, level, OverlayCreator.Options.DEFAULT_SEGMENT_SIZE, threads);
        Path directory = home.instance(instanceName);
        Path state = directory.resolve("overlay-" + STATE);
        long pausing = System.nanoTime();
        try {
            if (out.toAbsolutePath().getParent() != null) {
                Files.createDirectories(out.toAbsolutePath().getParent());
            }
            progress.report("snapshot", -1);
            hypervisor.saveDeviceState(record.vm(), state);
            Map<String, byte[]> attachments = Map.of(
                    LaunchState.DEVICE_STATE, Files.readAllBytes(state),
                    LaunchState.ATTACHMENT, Json.mapper().writeValueAsBytes(new LaunchState(record.nics())));
            OverlayMeta meta;
            try (ImageReader baseDisk = new RawImageReader(base.disk());
                 ImageReader disk = Qcow2Reader.open(directory.resolve(DISK), baseDisk);
                 ImageReader memory = new RawImageReader(directory.resolve(MEMORY))) {
                meta = OverlayCreator.create(base, disk, memory, attachments, options, out,
                        new OverlayCreator.Progress() {
                            @Override
                            public void scanned(ImageKind image, long done, long total) {
                                progress.report("scan " + image.name().toLowerCase(java.util.Locale.ROOT),
                                        total == 0 ? 100 : (int) (100 * done / total));
                            }

                            @Override
                            public void written(int segments, long bytes) {
                                progress.report("compress", -1);
                            }
                        });
            }
            Duration paused = Duration.ofNanos(System.nanoTime() - pausing);
            return new OverlayReport(out, Files.size(out), meta.baseId(), meta.codec(), meta.level(), meta.itemCounts(),
                    paused);
        } catch (IOException e) {
            throw failure("creating an overlay of instance '" + instanceName + "' failed", e);
        } finally {
            try {
                Files.deleteIfExists(state);
            } catch (IOException e) {
                // Left in the instance directory; removed with it.
            }
            hypervisor.unpause(record.vm());
        }
    }

    // ==== handoff ====

    /**
     * Hands running instance {@code instanceName} off to the handoff receiver at {@code destination},
     * presenting {@code ticket}: see {@link HandoffSender}. When the receiver reports the VM
     * running there, the instance here is terminated. On failure the instance runs on here and the
     * failure is thrown. {@code linkBytesPerSecond}, when positive, caps the rate sent (emulating a
     * slower link).
     */
    public HandoffSender.Report handoff(String instanceName, InetSocketAddress destination, String ticket,
                                       long linkBytesPerSecond, HandoffSender.Options options,
                                       HandoffSender.Progress progress) {
        InstanceRecord record = instanceRecord(instanceName);
        BaseVm base = baseById(record.baseId());
        if (hypervisor.state(record.vm()).filter(s -> s == VmState.RUNNING).isEmpty()) {
            throw new AgentException(Reason.CONFLICT, "instance '" + instanceName + "' is not running");
        }
        Path directory = home.instance(instanceName);
        HandoffSender.Report report;
        try (Socket socket = new Socket()) {
            socket.connect(destination, CONNECT_TIMEOUT_MS);
            socket.setTcpNoDelay(true);
            report = HandoffSender.send(base, new RunningInstance(record, directory), ticket,
                    Json.mapper().writeValueAsString(new LaunchState(record.nics())), socket.getInputStream(),
                    Throttle.limit(socket.getOutputStream(), linkBytesPerSecond), options, progress);
        } catch (IOException e) {
            throw new AgentException(Reason.FAILED, "handoff of instance '" + instanceName + "' to " + destination
                    + " failed; it runs on here: " + e.getMessage(), e);
        }
        try {
            terminate(instanceName);
        } catch (RuntimeException e) {
            // The VM runs at the destination now; this paused copy is an orphan that the agent's
            // repair (an unwanted instance in its heartbeat) or a restart's reconcile removes.
        }
        return report;
    }

    /**
     * The baseline for handoff benchmarks: migrates running instance {@code instanceName} with the
     * hypervisor's own live migration (a full copy of the disk, then all RAM; see
     * {@link Hypervisor#migrateWithStorage}) to a scratch VM on this host, checks that it runs
     * there, then removes both: the instance is gone afterwards.
     */
    public Hypervisor.MigrationStats migrateBaseline(String instanceName, long bytesPerSecond,
                                                     java.util.function.UnaryOperator<Path> route) {
        InstanceRecord record = instanceRecord(instanceName);
        BaseVm base = baseById(record.baseId());
        String target = record.vm() + "-migrated";
        Path scratch = null;
        try {
            scratch = home.staging("migration");
            long diskSize = base.manifest().disk().size();
            // Block migration matches disks by node name, so the destination disk has the same
            // shape (a qcow2 layer over a raw file); the migration writes every sector into the
            // layer, so the blank file under it is never read.
            Path blank = scratch.resolve("blank.raw");
            try (java.io.RandomAccessFile file = new java.io.RandomAccessFile(blank.toFile(), "rw");
                 java.io.RandomAccessFile memory = new java.io.RandomAccessFile(scratch.resolve(MEMORY).toFile(), "rw")) {
                file.setLength(diskSize);
                memory.setLength(base.manifest().memory().size());
            }
            try (Qcow2Writer layer = new Qcow2Writer(scratch.resolve(DISK), blank, diskSize)) {
                layer.finish();
            }
            MachineTemplate template = template(base);
            MachineSpec own = machineSpec(base, template, record, record.nics().stream().map(Nic::withoutForwards)
                    .toList());
            MachineSpec destination = new MachineSpec(target, own.owner(), own.vcpus(), own.memoryMib(),
                    scratch.resolve(MEMORY), scratch.resolve(DISK), "qcow2", blank, own.kernel(), own.initrd(),
                    own.cmdline(), own.cpuModel(), own.machineType(), scratch.resolve(CONSOLE), own.nics());
            Hypervisor.MigrationStats stats = hypervisor.migrateWithStorage(record.vm(), destination, bytesPerSecond,
                    route);
            if (hypervisor.state(target).filter(s -> s == VmState.RUNNING).isEmpty()) {
                throw new AgentException(Reason.FAILED, "the migrated VM does not run");
            }
            return stats;
        } catch (IOException e) {
            throw failure("migrating instance '" + instanceName + "' failed", e);
        } finally {
            hypervisor.destroy(target);
            terminate(instanceName);
            if (scratch != null) {
                try {
                    FileTrees.deleteRecursively(scratch);
                } catch (IOException e) {
                    // Under tmp/, which reconcile clears.
                }
            }
        }
    }

    /** A received instance and how the transfer went. */
    public record HandoffArrival(InstanceView instance, HandoffReceiver.Result result) {
    }

    /**
     * Receives a handed-off VM over {@code in}/{@code out} as instance {@code name}, forwarding
     * {@code forwards} to it, and resumes it; see {@link HandoffReceiver}. {@code tickets} decides
     * whether the sender's ticket is valid. On failure nothing of the instance is left.
     */
    public HandoffArrival receiveHandoff(String name, List<PortForward> forwards, Predicate<String> tickets,
                                         InputStream in, OutputStream out, HandoffReceiver.Progress progress) {
        Home.checkName("instance", name);
        Arrival arrival = new Arrival(name, forwards);
        try {
            HandoffReceiver.Result result = HandoffReceiver.receive(id -> findBase(id).orElse(null), tickets,
                    arrival, in, out, progress);
            return new HandoffArrival(view(arrival.ready), result);
        } catch (IOException e) {
            throw new AgentException(e instanceof InvalidArtifactException ? Reason.BAD_REQUEST : Reason.FAILED,
                    "receiving instance '" + name + "' failed: " + e.getMessage(), e);
        }
    }

    /** The sending side's view of an instance. */
    private final class RunningInstance implements HandoffSender.Source {

        private final InstanceRecord record;
        private final Path directory;
        private volatile boolean paused;

        RunningInstance(InstanceRecord record, Path directory) {
            this.record = record;
            this.directory = directory;
        }

        @Override
        public ImageReader openDisk() throws IOException {
            return Qcow2Reader.open(directory.resolve(DISK));
        }

        @Override
        public ImageReader openMemory() throws IOException {
            return new RawImageReader(directory.resolve(MEMORY));
        }

        @Override
        public void pause() {
            paused = true;
            hypervisor.pause(record.vm());
        }

        @Override
        public byte[] deviceState() throws IOException {
            Path state = directory.resolve("handoff-" + STATE);
            try {
                hypervisor.saveDeviceState(record.vm(), state);
                return Files.readAllBytes(state);
            } finally {
                Files.deleteIfExists(state);
            }
        }

        @Override
        public void resumeAfterFailure() {
            if (paused) {
                hypervisor.unpause(record.vm());
            }
        }
    }

    /** The receiving side: reserves the instance, starts its VM waiting early, resumes it at the end. */
    private final class Arrival implements HandoffReceiver.Target {

        private final String name;
        private final List<PortForward> forwards;
        private BaseVm base;
        private InstanceRecord record;
        private List<Nic> started;
        private InstanceRecord ready;

        Arrival(String name, List<PortForward> forwards) {
            this.name = name;
            this.forwards = forwards;
        }

        @Override
        public HandoffReceiver.Files prepare(BaseVm arriving, String launchState) throws IOException {
            checkHost(arriving);
            LaunchState launch = readLaunchState(launchState.getBytes(StandardCharsets.UTF_8));
            template(arriving);
            base = arriving;
            started = network.atStart(launch.nics(), forwards);
            record = reserve(name, arriving, "handoff", null, forwards);
            Path directory = home.instance(name);
            return new HandoffReceiver.Files(directory.resolve(DISK), directory.resolve(MEMORY));
        }

        @Override
        public void imagesCreated() {
            hypervisor.prepareIncoming(machineSpec(base, template(base), record, started));
        }

        @Override
        public void resume(byte[] deviceState) throws IOException {
            Path state = home.instance(name).resolve(STATE);
            Files.write(state, deviceState);
            hypervisor.completeIncoming(record.vm(), state);
        }

        @Override
        public void attachNetwork() {
            // The same instance moved: in REPLACE mode its new NICs keep its MACs.
            ready = connected(record, started, GuestNetwork.Macs.SAVED);
        }

        @Override
        public void discard(Exception cause) {
            if (record != null) {
                CloudletHost.this.discard(record, cause);
            }
        }
    }

    /** Every instance of this home, with the state the hypervisor reports. */
    public List<InstanceView> listInstances() {
        List<InstanceView> views = new ArrayList<>();
        for (String name : home.instanceNames()) {
            home.read(name).ifPresent(record -> views.add(view(record)));
        }
        return views;
    }

    /** The instance called {@code name}. */
    public InstanceView instance(String name) {
        return view(instanceRecord(name));
    }

    /** Stops the instance's VM and removes its files; its ports are free afterwards. */
    public void terminate(String name) {
        Home.checkName("instance", name);
        Path directory = home.instance(name);
        Optional<InstanceRecord> record = home.read(name);
        if (record.isEmpty() && !Files.isDirectory(directory)) {
            throw new AgentException(Reason.NOT_FOUND, "there is no instance '" + name + "'");
        }
        hypervisor.destroy(record.map(InstanceRecord::vm).orElse(home.vmPrefix() + "i-" + name));
        try {
            FileTrees.deleteRecursively(directory);
        } catch (IOException e) {
            throw failure("removing the files of instance '" + name + "' failed", e);
        }
    }

    /**
     * What {@link #reconcile} repaired.
     *
     * @param orphanVms        VMs of this home that no instance record claimed, destroyed
     * @param unfinished       instances whose creation never completed, removed
     * @param lost             instances whose VM no longer exists (host restart), removed
     */
    public record ReconcileReport(List<String> orphanVms, List<String> unfinished, List<String> lost) {
    }

    /**
     * Brings the home and the hypervisor into agreement after a crash or restart: destroys VMs
     * carrying this home's prefix that no instance record claims (they would hold host ports),
     * removes instances whose creation never finished and instances whose VM is gone (its RAM went
     * with it), and clears the staging area. Call it when no other process works on this home,
     * e.g. when an agent starts.
     */
    public ReconcileReport reconcile() {
        return home.locked(() -> {
            List<String> unfinished = new ArrayList<>();
            List<String> lost = new ArrayList<>();
            java.util.Set<String> claimed = new java.util.HashSet<>();
            for (String name : home.instanceNames()) {
                Optional<InstanceRecord> record;
                try {
                    record = home.read(name);
                } catch (AgentException unreadable) {
                    record = Optional.empty();
                }
                String vm = record.map(InstanceRecord::vm).orElse(home.vmPrefix() + "i-" + name);
                if (record.isEmpty() || record.get().phase().equals(InstanceRecord.CREATING)) {
                    hypervisor.destroy(vm);
                    FileTrees.deleteRecursively(home.instance(name));
                    unfinished.add(name);
                } else if (hypervisor.state(vm).isEmpty()) {
                    FileTrees.deleteRecursively(home.instance(name));
                    lost.add(name);
                } else {
                    claimed.add(vm);
                }
            }
            List<String> orphans = new ArrayList<>();
            for (String vm : hypervisor.list(home.vmPrefix())) {
                if (!claimed.contains(vm)) {
                    hypervisor.destroy(vm);
                    orphans.add(vm);
                }
            }
            try (var stale = Files.list(home.root().resolve("tmp"))) {
                for (Path path : (Iterable<Path>) stale::iterator) {
                    FileTrees.deleteRecursively(path);
                }
            }
            return new ReconcileReport(orphans, unfinished, lost);
        });
    }

    @Override
    public void close() {
        hypervisor.close();
    }

    // ==== internals ====

    /** Claims the instance name and its host ports: an instance directory with a "creating" record. */
    private InstanceRecord reserve(String name, BaseVm base, String origin, String source, List<PortForward> forwards) {
        Home.checkName("instance", name);
        return home.locked(() -> {
            Path directory = home.instance(name);
            if (Files.exists(directory)) {
                throw new AgentException(Reason.CONFLICT, "an instance named '" + name + "' exists already");
            }
            Set<Integer> requested = new HashSet<>();
            for (PortForward forward : forwards) {
                if (!requested.add(forward.hostPort())) {
                    throw new AgentException(Reason.BAD_REQUEST, "host port " + forward.hostPort()
                            + " is forwarded twice");
                }
            }
            for (String other : home.instanceNames()) {
                for (PortForward taken : home.read(other).map(InstanceRecord::forwards).orElse(List.of())) {
                    if (requested.contains(taken.hostPort())) {
                        throw new AgentException(Reason.CONFLICT, "host port " + taken.hostPort()
                                + " is in use by instance '" + other + "'");
                    }
                }
            }
            for (PortForward forward : forwards) {
                checkPortFree(forward);
            }
            Files.createDirectories(directory);
            InstanceRecord record = new InstanceRecord(name, base.baseId(), base.manifest().name(),
                    home.vmPrefix() + "i-" + name, origin, source, Instant.now(), InstanceRecord.CREATING, forwards,
                    List.of(), null);
            home.write(record);
            return record;
        });
    }

    private static void checkPortFree(PortForward forward) {
        try (ServerSocket socket = new ServerSocket()) {
            // As QEMU binds its forwards: connections in TIME_WAIT do not make a port busy, listeners do.
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(forward.hostAddress(), forward.hostPort()));
        } catch (java.net.BindException e) {
            if (String.valueOf(e.getMessage()).contains("Cannot assign requested address")) {
                throw new AgentException(Reason.BAD_REQUEST, "cannot forward from " + forward.hostAddress()
                        + ": it is not an address of this host");
            }
            throw new AgentException(Reason.CONFLICT, "host port " + forward.hostPort() + " on "
                    + forward.hostAddress() + " is in use");
        } catch (IOException e) {
            throw new AgentException(Reason.CONFLICT, "host port " + forward.hostPort() + " on "
                    + forward.hostAddress() + " is in use");
        }
    }

    /**
     * Starts the instance's VM from {@code deviceState} with the NICs it was saved with, connects
     * them to this host's network ({@link GuestNetwork}) and records the instance ready.
     */
    private InstanceRecord launch(BaseVm base, MachineTemplate template, InstanceRecord record, Path deviceState,
                                  List<Nic> savedNics) {
        List<Nic> started = network.atStart(savedNics, record.forwards());
        hypervisor.resume(machineSpec(base, template, record, started), deviceState);
        return connected(record, started, GuestNetwork.Macs.FRESH);
    }

    private MachineSpec machineSpec(BaseVm base, MachineTemplate template, InstanceRecord record, List<Nic> nics) {
        Path directory = home.instance(record.name());
        try {
            return new MachineSpec(record.vm(), home.root().toString(), template.vcpus(), template.memoryMib(),
                    directory.resolve(MEMORY), directory.resolve(DISK), "qcow2", base.disk(),
                    template.kernel() == null ? null : base.attachment(template.kernel()),
                    template.initrd() == null ? null : base.attachment(template.initrd()), template.cmdline(),
                    base.manifest().cpuModel(), base.manifest().machineType(), directory.resolve(CONSOLE), nics);
        } catch (InvalidArtifactException e) {
            throw new AgentException(Reason.BAD_REQUEST, e.getMessage());
        }
    }

    /** Connects the NICs of a just-resumed VM to this host's network and records the instance ready. */
    private InstanceRecord connected(InstanceRecord record, List<Nic> started, GuestNetwork.Macs macs) {
        InstanceRecord ready = record.ready(network.connect(record.vm(), started, record.forwards(), macs),
                network.mode());
        home.write(ready);
        return ready;
    }

    private void discard(InstanceRecord record, Exception cause) {
        try {
            hypervisor.destroy(record.vm());
        } catch (RuntimeException e) {
            cause.addSuppressed(e);
        }
        FileTrees.deleteQuietly(home.instance(record.name()), cause);
    }

    private void checkHost(BaseVm base) {
        BaseVmManifest manifest = base.manifest();
        HostInfo host = hypervisor.host();
        if (manifest.emulatorVersion() != null && !manifest.emulatorVersion().equals(host.emulatorVersion())) {
            throw new AgentException(Reason.HOST_UNSUITABLE, "base VM '" + manifest.name()
                    + "' was captured under QEMU " + manifest.emulatorVersion() + "; this host runs QEMU "
                    + host.emulatorVersion() + ", whose device state is not compatible");
        }
        hypervisor.checkRunnable(manifest.cpuModel(), manifest.machineType());
    }

    private static OverlaySource openOverlay(String location) throws IOException {
        if (location.startsWith("http://") || location.startsWith("https://")) {
            URI uri;
            try {
                uri = URI.create(location);
            } catch (IllegalArgumentException e) {
                throw new AgentException(Reason.BAD_REQUEST, "overlay URL '" + location + "' is not valid");
            }
            return HttpOverlaySource.open(uri);
        }
        Path file = location.startsWith("file:") ? Path.of(URI.create(location)) : Path.of(location);
        return FileOverlaySource.open(file);
    }

    private static LaunchState readLaunchState(byte[] json) throws InvalidArtifactException {
        try {
            return Json.mapper().readValue(json, LaunchState.class);
        } catch (IOException | IllegalArgumentException e) {
            throw new InvalidArtifactException("the overlay's launch state is not valid: " + e.getMessage(), e);
        }
    }

    private MachineTemplate template(BaseVm base) {
        try {
            return Json.mapper().readValue(base.manifest().vmTemplate(), MachineTemplate.class);
        } catch (IOException | IllegalArgumentException | NullPointerException e) {
            throw new AgentException(Reason.BAD_REQUEST, "base VM '" + base.manifest().name()
                    + "' has no VM template this agent understands");
        }
    }

    private String generatedName(BaseVm base) {
        return base.manifest().name() + "-" + HexFormat.of().formatHex(randomBytes(3));
    }

    private String randomMac() {
        byte[] bytes = randomBytes(3);
        return String.format("52:54:00:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2]);
    }

    private byte[] randomBytes(int count) {
        byte[] bytes = new byte[count];
        random.nextBytes(bytes);
        return bytes;
    }

    private InstanceRecord instanceRecord(String name) {
        Home.checkName("instance", name);
        return home.read(name).orElseThrow(() -> new AgentException(Reason.NOT_FOUND, "there is no instance '" + name
                + "'"));
    }

    private List<BaseVm> bases() {
        List<BaseVm> bases = new ArrayList<>();
        try (Stream<Path> children = Files.list(home.bases())) {
            for (Path directory : children.filter(path -> Files.isRegularFile(path.resolve(BaseVm.MANIFEST))).toList()) {
                bases.add(BaseVm.open(directory));
            }
        } catch (IOException e) {
            throw failure("reading the base VMs in " + home.bases() + " failed", e);
        }
        return bases;
    }

    private Optional<BaseVm> findBase(String nameOrId) {
        for (BaseVm base : bases()) {
            if (base.manifest().name().equals(nameOrId) || base.baseId().equals(nameOrId)) {
                return Optional.of(base);
            }
        }
        return Optional.empty();
    }

    private BaseVm base(String name) {
        if (name == null || name.isBlank()) {
            throw new AgentException(Reason.BAD_REQUEST, "a base VM name is required");
        }
        return findBase(name).orElseThrow(() -> new AgentException(Reason.NOT_FOUND, "there is no base VM '" + name
                + "'"));
    }

    private BaseVm baseById(String baseId) {
        return findBase(baseId).orElseThrow(() -> new AgentException(Reason.NOT_FOUND, "base VM " + baseId
                + " is no longer registered"));
    }

    private BaseVmView view(BaseVm base) {
        BaseVmManifest manifest = base.manifest();
        MachineTemplate template = template(base);
        return new BaseVmView(manifest.name(), manifest.baseId(), manifest.createdAt(), manifest.disk().size(),
                manifest.memory().size(), template.vcpus(), template.memoryMib(), manifest.cpuModel(),
                manifest.machineType(), manifest.emulatorVersion());
    }

    private InstanceView view(InstanceRecord record) {
        String state;
        if (record.phase().equals(InstanceRecord.CREATING)) {
            state = "creating";
        } else {
            state = hypervisor.state(record.vm()).map(s -> s.name().toLowerCase(java.util.Locale.ROOT))
                    .orElse("missing");
        }
        return new InstanceView(record.name(), record.baseName(), record.baseId(), record.origin(), state,
                record.createdAt(), record.forwards(), home.instance(record.name()).resolve(CONSOLE), record.nicMode());
    }

    private static void requireFile(String what, Path file) {
        if (file == null || !Files.isRegularFile(file)) {
            throw new AgentException(Reason.NOT_FOUND, what + " " + file + " does not exist");
        }
    }

    private static void checkRawDisk(Path disk) {
        try (var in = Files.newInputStream(disk)) {
            byte[] magic = in.readNBytes(4);
            if (magic.length == 4 && magic[0] == 'Q' && magic[1] == 'F' && magic[2] == 'I' && (magic[3] & 0xff) == 0xfb) {
                throw new AgentException(Reason.BAD_REQUEST, "disk " + disk
                        + " is a qcow2 image; base VMs take raw disks (qemu-img convert -O raw)");
            }
        } catch (IOException e) {
            throw new AgentException(Reason.BAD_REQUEST, "cannot read disk " + disk + ": " + e.getMessage());
        }
        try {
            if (Files.size(disk) == 0 || Files.size(disk) % 512 != 0) {
                throw new AgentException(Reason.BAD_REQUEST, "disk " + disk + " is not a raw disk image (its size "
                        + Files.size(disk) + " is not a multiple of 512)");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Copies a file keeping it sparse (and sharing extents where the file system can). */
    private static void sparseCopy(Path from, Path to) throws IOException {
        Process process = new ProcessBuilder("cp", "--sparse=always", "--reflink=auto", from.toString(), to.toString())
                .redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        try {
            if (process.waitFor() != 0) {
                throw new IOException("cp " + from + " failed: " + output);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while copying " + from);
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AgentException(Reason.FAILED, "interrupted");
        }
    }

    private static AgentException failure(String what, IOException e) {
        if (e instanceof InvalidArtifactException) {
            return new AgentException(Reason.BAD_REQUEST, e.getMessage(), e);
        }
        if (e instanceof NoSuchFileException missing) {
            return new AgentException(Reason.NOT_FOUND, what + ": " + missing.getFile() + " does not exist", e);
        }
        return new AgentException(Reason.FAILED, what + ": " + e.getMessage(), e);
    }
}
