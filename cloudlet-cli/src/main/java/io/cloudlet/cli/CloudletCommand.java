package io.cloudlet.cli;

import io.cloudlet.agent.AgentException;
import io.cloudlet.agent.fetch.OverlayFileServer;
import io.cloudlet.agent.host.BaseVmView;
import io.cloudlet.agent.host.CloudletHost;
import io.cloudlet.agent.host.InstanceView;
import io.cloudlet.agent.host.NicMode;
import io.cloudlet.agent.host.OverlayReport;
import io.cloudlet.agent.host.Progress;
import io.cloudlet.agent.host.SynthesisReport;
import io.cloudlet.agent.hypervisor.LibvirtHypervisor;
import io.cloudlet.agent.hypervisor.PortForward;
import io.cloudlet.engine.overlay.Codec;
import io.cloudlet.engine.overlay.FileOverlaySource;
import io.cloudlet.engine.overlay.OverlayMeta;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * The standalone {@code cloudlet} command: the compute agent's operations on this host, with state
 * in a home directory and no cluster.
 */
@Command(name = "cloudlet", mixinStandardHelpOptions = true, version = "cloudlet 0.1.0",
        description = "Base VMs, overlays and VM synthesis on this host (libvirt + QEMU).",
        subcommands = {CloudletCommand.Base.class, CloudletCommand.Resume.class, CloudletCommand.Overlay.class,
                CloudletCommand.Synthesize.class, CloudletCommand.ListInstances.class, CloudletCommand.Terminate.class,
                CloudletCommand.Serve.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:the operation failed on this host", "2:invalid command line",
                "3:invalid input (a bad overlay, disk or URL)", "4:no such base VM, instance or file",
                "5:conflict (name or host port in use, base VM in use)", "6:this host cannot run the base VM"})
public final class CloudletCommand {

    @Option(names = "--home", paramLabel = "DIR", description = "State directory (default: ~/.cloudlet or $CLOUDLET_HOME).")
    Path home;

    @Option(names = "--connect", paramLabel = "URI", description = "libvirt URI (default: qemu:///system).")
    String connect = System.getenv().getOrDefault("CLOUDLET_LIBVIRT_URI", "qemu:///system");

    @Option(names = "--nic-mode", paramLabel = "keep|replace", defaultValue = "${env:CLOUDLET_NIC_MODE:-keep}",
            converter = NicModeConverter.class,
            description = "How resumed VMs get onto this host's network: keep their NICs (user networking) or replace "
                    + "them at the same PCI slot (the guest must configure hot-plugged NICs). Default: "
                    + "$CLOUDLET_NIC_MODE, else keep.")
    NicMode nicMode;

    @Spec
    CommandLine.Model.CommandSpec spec;

    private final long startedNanos;

    CloudletCommand(long startedNanos) {
        this.startedNanos = startedNanos;
    }

    public static void main(String[] args) {
        System.exit(run(System.nanoTime() - ProcessAge.nanos(), args));
    }

    /** Runs the command line {@code args}; returns the exit code. Used by tests in-process. */
    static int run(long startedNanos, String... args) {
        CommandLine commandLine = new CommandLine(new CloudletCommand(startedNanos));
        commandLine.setExecutionExceptionHandler((e, line, parsed) -> {
            line.getErr().println("cloudlet: error: " + oneLine(e));
            return exitCode(e);
        });
        return commandLine.execute(args);
    }

    static int exitCode(Exception e) {
        if (e instanceof AgentException agent) {
            return switch (agent.reason()) {
                case BAD_REQUEST -> 3;
                case NOT_FOUND -> 4;
                case CONFLICT -> 5;
                case HOST_UNSUITABLE -> 6;
                case FAILED -> 1;
            };
        }
        if (e instanceof IllegalArgumentException) {
            return 2;
        }
        return 1;
    }

    private static String oneLine(Exception e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return message.replace('\n', ' ');
    }

    Path homeDirectory() {
        if (home != null) {
            return home;
        }
        String fromEnvironment = System.getenv("CLOUDLET_HOME");
        return fromEnvironment != null ? Path.of(fromEnvironment) : Path.of(System.getProperty("user.home"), ".cloudlet");
    }

    CloudletHost host() {
        return CloudletHost.open(homeDirectory(), LibvirtHypervisor.connect(connect), nicMode);
    }

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    /** Progress on standard error: one line per phase change. */
    Progress progress() {
        PrintWriter err = spec.commandLine().getErr();
        return new Progress() {
            private String last = "";

            @Override
            public void report(String phase, int percent) {
                String line = percent >= 0 && !phase.equals("done") ? phase + " " + (percent / 10 * 10) + "%" : phase;
                if (!line.equals(last) && !phase.equals("done")) {
                    err.println("  " + line + "...");
                    err.flush();
                    last = line;
                }
            }
        };
    }

    static List<PortForward> forwards(List<String> specs) {
        List<PortForward> forwards = new ArrayList<>();
        for (String spec : specs) {
            forwards.add(PortForward.parse(spec));
        }
        return forwards;
    }

    static String seconds(Duration duration) {
        return String.format(Locale.ROOT, "%.2f s", duration.toNanos() / 1e9);
    }

    // ---- base ----

    @Command(name = "base", mixinStandardHelpOptions = true, description = "Manage base VMs.",
            subcommands = {BaseCreate.class, BaseList.class, BaseExport.class, BaseImport.class, BaseDelete.class})
    static final class Base {
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Boot a VM from a raw disk, wait until it is ready, pause it and register disk, memory and "
                    + "device state as a base VM.")
    static final class BaseCreate extends Verb {
        @Option(names = "--name", required = true, description = "Name of the base VM.")
        String name;
        @Option(names = "--disk", required = true, paramLabel = "DISK.raw", description = "Raw disk image (copied).")
        Path disk;
        @Option(names = "--kernel", paramLabel = "FILE", description = "Kernel for direct boot.")
        Path kernel;
        @Option(names = "--initrd", paramLabel = "FILE", description = "Initrd for direct boot.")
        Path initrd;
        @Option(names = "--cmdline", paramLabel = "TEXT", description = "Kernel command line (default: console=ttyS0).")
        String cmdline;
        @Option(names = "--memory-mib", paramLabel = "N", defaultValue = "256", description = "RAM in MiB (default: ${DEFAULT-VALUE}).")
        int memoryMib;
        @Option(names = "--vcpus", paramLabel = "N", defaultValue = "1", description = "Virtual CPUs (default: ${DEFAULT-VALUE}).")
        int vcpus;
        @Option(names = "--cpu-model", paramLabel = "MODEL", defaultValue = CloudletHost.DEFAULT_CPU_MODEL,
                description = "Guest CPU model the base VM is pinned to (default: ${DEFAULT-VALUE}).")
        String cpuModel;
        @CommandLine.ArgGroup(exclusive = true)
        Ready ready;
        @Option(names = "--ready-timeout", paramLabel = "SECONDS", defaultValue = "300",
                description = "How long to wait for --ready-serial (default: ${DEFAULT-VALUE}).")
        int readyTimeout;

        static final class Ready {
            @Option(names = "--ready-serial", paramLabel = "TEXT", description = "Ready once the serial console shows TEXT.")
            String serial;
            @Option(names = "--ready-after", paramLabel = "SECONDS", description = "Ready this long after boot.")
            Integer after;
        }

        @Override
        public Integer call() {
            try (CloudletHost host = command().host()) {
                String line = cmdline != null ? cmdline : kernel != null ? "console=ttyS0" : null;
                BaseVmView base = host.createBase(new CloudletHost.BaseSpec(name, disk, kernel, initrd, line, memoryMib,
                        vcpus, cpuModel, ready == null ? null : ready.serial,
                        ready == null || ready.after == null ? null : Duration.ofSeconds(ready.after),
                        Duration.ofSeconds(readyTimeout)), command().progress());
                command().out().printf("base VM %s created: id %s, disk %d MB, memory %d MiB, %s on %s%n",
                        base.name(), base.baseId(), base.diskBytes() >> 20, base.memoryMib(), base.cpuModel(),
                        base.machineType());
                return 0;
            }
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List base VMs.")
    static final class BaseList extends Verb {

        @Override
        public Integer call() {
            try (CloudletHost host = command().host()) {
                PrintWriter out = command().out();
                out.printf("%-20s %-16s %6s %8s %5s %-10s %s%n", "NAME", "ID", "VCPUS", "MEMORY", "DISK", "CPU",
                        "CREATED");
                for (BaseVmView base : host.listBases()) {
                    out.printf("%-20s %-16s %6d %6dMi %4dM %-10s %s%n", base.name(), base.baseId().substring(0, 16),
                            base.vcpus(), base.memoryMib(), base.diskBytes() >> 20, base.cpuModel(), base.createdAt());
                }
                return 0;
            }
        }
    }

    @Command(name = "export", mixinStandardHelpOptions = true, description = "Write a base VM package (zip).")
    static final class BaseExport extends Verb {
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Parameters(index = "1", paramLabel = "FILE") Path file;

        @Override
        public Integer call() throws IOException {
            try (CloudletHost host = command().host()) {
                host.exportBase(name, file);
                command().out().printf("base VM %s exported to %s (%d MB)%n", name, file, Files.size(file) >> 20);
                return 0;
            }
        }
    }

    @Command(name = "import", mixinStandardHelpOptions = true,
            description = "Import a base VM package, verifying every chunk; importing it again is a no-op.")
    static final class BaseImport extends Verb {
        @Parameters(index = "0", paramLabel = "FILE") Path file;

        @Override
        public Integer call() {
            try (CloudletHost host = command().host()) {
                BaseVmView base = host.importBase(file, command().progress());
                command().out().printf("base VM %s imported: id %s%n", base.name(), base.baseId());
                return 0;
            }
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete a base VM no instance uses.")
    static final class BaseDelete extends Verb {
        @Parameters(index = "0", paramLabel = "NAME") String name;

        @Override
        public Integer call() {
            try (CloudletHost host = command().host()) {
                host.deleteBase(name);
                command().out().printf("base VM %s deleted%n", name);
                return 0;
            }
        }
    }

    // ---- instances ----

    @Command(name = "resume", mixinStandardHelpOptions = true,
            description = "Resume a base VM as a new instance (own copy-on-write disk and RAM file).")
    static final class Resume extends Verb {
        @Parameters(index = "0", paramLabel = "BASE") String base;
        @Option(names = "--name", description = "Instance name (default: BASE-random).") String name;
        @Option(names = "--forward", paramLabel = "HOSTPORT:GUESTPORT",
                description = "Forward a host TCP port to the guest; [ADDRESS:] limits the host address (default 0.0.0.0).")
        List<String> forwards = new ArrayList<>();

        @Override
        public Integer call() {
            List<PortForward> parsed = forwards(forwards);
            try (CloudletHost host = command().host()) {
                InstanceView instance = host.resume(base, name, parsed, command().progress());
                command().out().printf("instance %s resumed from base VM %s; forwards %s; console %s%n",
                        instance.name(), instance.baseName(), instance.forwards(), instance.consoleLog());
                return 0;
            }
        }
    }

    @Command(name = "overlay", mixinStandardHelpOptions = true, description = "Create and inspect VM overlays.",
            subcommands = {OverlayCreate.class, OverlayInfo.class})
    static final class Overlay {
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Create the overlay of a running instance against its base VM; the instance runs on.")
    static final class OverlayCreate extends Verb {
        @Parameters(index = "0", paramLabel = "INSTANCE") String instance;
        @Parameters(index = "1", paramLabel = "OUT") Path out;
        @Option(names = "--codec", defaultValue = "zstd", description = "xz or zstd (default: ${DEFAULT-VALUE}).")
        String codec;
        @Option(names = "--level", paramLabel = "N", description = "Compression level (default: xz 6, zstd 9).")
        Integer level;

        @Override
        public Integer call() {
            Codec chosen = codec.equals("xz") ? Codec.XZ : codec.equals("zstd") ? Codec.ZSTD : null;
            CommandLine line = spec.commandLine();
            if (chosen == null) {
                throw new CommandLine.ParameterException(line, "--codec must be xz or zstd, not '" + codec + "'");
            }
            if (level != null) {
                try {
                    chosen.checkLevel(level);
                } catch (IllegalArgumentException e) {
                    throw new CommandLine.ParameterException(line, "--level: " + e.getMessage());
                }
            }
            try (CloudletHost host = command().host()) {
                OverlayReport report = host.createOverlay(instance, out, chosen, level, command().progress());
                command().out().printf("overlay %s: %.2f MB, %s level %d, base %s, items %s; instance paused %s%n",
                        report.file(), report.bytes() / 1e6, report.codec(), report.level(), report.baseId(),
                        report.itemCounts(), seconds(report.paused()));
                return 0;
            }
        }
    }

    @Command(name = "info", mixinStandardHelpOptions = true, description = "Show an overlay's meta.")
    static final class OverlayInfo extends Verb {
        @Parameters(index = "0", paramLabel = "FILE") Path file;

        @Override
        public Integer call() throws IOException {
            try (FileOverlaySource source = FileOverlaySource.open(file)) {
                OverlayMeta meta = source.header().meta();
                PrintWriter out = command().out();
                out.printf("file:        %s (%d bytes)%n", file, Files.size(file));
                out.printf("base VM:     %s%n", meta.baseId());
                out.printf("created:     %s%n", meta.createdAt());
                out.printf("codec:       %s level %d, %d segments%n", meta.codec(), meta.level(), meta.segments().size());
                out.printf("launch disk: %d bytes%nlaunch RAM:  %d bytes%n", meta.disk().size(), meta.memory().size());
                out.printf("items:       %s%n", meta.itemCounts());
                for (OverlayMeta.Attachment attachment : meta.attachments()) {
                    out.printf("attachment:  %s (%d bytes)%n", attachment.name(), attachment.rawLength());
                }
                return 0;
            } catch (io.cloudlet.engine.InvalidArtifactException e) {
                throw new AgentException(AgentException.Reason.BAD_REQUEST, e.getMessage(), e);
            }
        }
    }

    @Command(name = "synthesize", aliases = "synthesise", mixinStandardHelpOptions = true,
            description = "Synthesise an instance from a base VM and an overlay (file or http(s) URL, streamed), "
                    + "resume it and wait until its forwarded service answers.")
    static final class Synthesize extends Verb {
        @Parameters(index = "0", paramLabel = "BASE") String base;
        @Parameters(index = "1", paramLabel = "OVERLAY_FILE_OR_URL") String overlay;
        @Option(names = "--name", description = "Instance name (default: BASE-random).") String name;
        @Option(names = "--forward", paramLabel = "HOSTPORT:GUESTPORT",
                description = "Forward a host TCP port to the guest; [ADDRESS:] limits the host address (default 0.0.0.0).")
        List<String> forwards = new ArrayList<>();
        @Option(names = "--wait-response", paramLabel = "SECONDS", defaultValue = "60",
                description = "How long to wait for the first forwarded port to answer HTTP (0: do not wait; "
                        + "default: ${DEFAULT-VALUE}).")
        int waitResponse;

        @Override
        public Integer call() {
            CloudletCommand command = command();
            List<PortForward> parsed = forwards(forwards);
            try (CloudletHost host = command.host()) {
                SynthesisReport report = host.synthesize(base, overlay, name, parsed, command.progress());
                PrintWriter out = command.out();
                out.printf("instance %s synthesised from %s (%.2f MB); forwards %s%n", report.instance().name(), overlay,
                        report.overlayBytes() / 1e6, report.instance().forwards());
                out.printf("timings: fetch %s, apply %s, resume %s, synthesis total %s%n", seconds(report.fetch()),
                        seconds(report.apply()), seconds(report.resume()), seconds(report.total()));
                out.flush();
                if (!parsed.isEmpty() && waitResponse > 0) {
                    PortForward first = parsed.get(0);
                    String address = first.hostAddress().equals("0.0.0.0") ? "127.0.0.1" : first.hostAddress();
                    String url = "http://" + address + ":" + first.hostPort() + "/";
                    String status;
                    try {
                        status = ServiceProbe.awaitHttp(url, Duration.ofSeconds(waitResponse));
                    } catch (AgentException e) {
                        // The synthesis itself succeeded: say that the instance runs and what to check.
                        throw new AgentException(e.reason(), "instance " + report.instance().name() + " runs, but "
                                + e.getMessage() + (command.nicMode == NicMode.REPLACE
                                ? " (NIC mode replace: does the guest configure a hot-plugged NIC?)" : "")
                                + "; remove it with: cloudlet terminate " + report.instance().name());
                    }
                    Duration firstResponse = Duration.ofNanos(System.nanoTime() - command.startedNanos);
                    out.printf("first response: %s after the command started (%s answered: %s)%n",
                            seconds(firstResponse), url, status);
                }
                return 0;
            }
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List instances.")
    static final class ListInstances extends Verb {

        @Override
        public Integer call() {
            try (CloudletHost host = command().host()) {
                PrintWriter out = command().out();
                out.printf("%-24s %-16s %-10s %-10s %-8s %s%n", "NAME", "BASE", "ORIGIN", "STATE", "NICS",
                        "FORWARDS");
                for (InstanceView instance : host.listInstances()) {
                    out.printf("%-24s %-16s %-10s %-10s %-8s %s%n", instance.name(), instance.baseName(),
                            instance.origin(), instance.state(), instance.nicMode() == null ? "-" : instance.nicMode(),
                            instance.forwards());
                }
                return 0;
            }
        }
    }

    @Command(name = "terminate", mixinStandardHelpOptions = true,
            description = "Stop an instance and remove its files; its host ports are released.")
    static final class Terminate extends Verb {
        @Parameters(index = "0", paramLabel = "INSTANCE") String instance;

        @Override
        public Integer call() {
            try (CloudletHost host = command().host()) {
                host.terminate(instance);
                command().out().printf("instance %s terminated%n", instance);
                return 0;
            }
        }
    }

    @Command(name = "serve", mixinStandardHelpOptions = true,
            description = "Serve a directory of overlays over HTTP with range requests, for synthesis by URL.")
    static final class Serve extends Verb {
        @Parameters(index = "0", paramLabel = "DIR") Path directory;
        @Option(names = "--port", defaultValue = "8000", description = "Port (default: ${DEFAULT-VALUE}).") int port;
        @Option(names = "--bind", defaultValue = "0.0.0.0", description = "Address (default: ${DEFAULT-VALUE}).")
        String bind;

        @Override
        public Integer call() throws IOException, InterruptedException {
            if (!Files.isDirectory(directory)) {
                throw new AgentException(AgentException.Reason.NOT_FOUND, "directory " + directory + " does not exist");
            }
            try (OverlayFileServer server = OverlayFileServer.start(directory, bind, port)) {
                command().out().printf("serving %s on http://%s:%d/%n", directory, bind, server.port());
                command().out().flush();
                Thread.currentThread().join();
            }
            return 0;
        }
    }

    /** {@code keep} or {@code replace} in any case; empty (an empty $CLOUDLET_NIC_MODE) is the default, keep. */
    static final class NicModeConverter implements CommandLine.ITypeConverter<NicMode> {
        @Override
        public NicMode convert(String value) {
            String text = value == null ? "" : value.trim();
            if (text.isEmpty()) {
                return NicMode.KEEP;
            }
            for (NicMode mode : NicMode.values()) {
                if (mode.name().equalsIgnoreCase(text)) {
                    return mode;
                }
            }
            throw new CommandLine.TypeConversionException("'" + value
                    + "' is not keep or replace (from --nic-mode or $CLOUDLET_NIC_MODE)");
        }
    }

    /** A subcommand that runs: reaches the root command's options through the command tree. */
    abstract static class Verb implements Callable<Integer> {
        @Spec
        CommandLine.Model.CommandSpec spec;

        CloudletCommand command() {
            CommandLine line = spec.commandLine();
            while (line.getParent() != null) {
                line = line.getParent();
            }
            return line.getCommand();
        }
    }
}
