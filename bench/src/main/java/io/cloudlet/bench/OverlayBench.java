package io.cloudlet.bench;

import io.cloudlet.engine.FileTrees;
import io.cloudlet.engine.basevm.BaseVm;
import io.cloudlet.engine.basevm.BaseVmDescription;
import io.cloudlet.engine.image.Chunks;
import io.cloudlet.engine.image.ImageReader;
import io.cloudlet.engine.image.RawImageReader;
import io.cloudlet.engine.overlay.Codec;
import io.cloudlet.engine.overlay.FileOverlaySource;
import io.cloudlet.engine.overlay.OverlayCreator;
import io.cloudlet.engine.overlay.OverlayMeta;
import io.cloudlet.engine.overlay.OverlaySource;
import io.cloudlet.engine.qcow2.Qcow2Reader;
import io.cloudlet.engine.synthesis.OverlayApplier;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Measures overlay creation and synthesis against the xdelta3 + xz baseline on a workload that
 * {@code bench/lib/overlay_workload.py} built, all in one run on this machine. Every rebuilt image
 * is compared byte for byte with the launch image before a figure is reported.
 *
 * <p>Usage: {@code OverlayBench WORKDIR}, where WORKDIR holds base-disk.raw, launch-disk.raw,
 * base-memory.raw and launch-memory.raw.
 */
public final class OverlayBench {

    private static final int APPLY_RUNS = 5;

    private final Path workdir;
    private final Path engineDir;
    private final int threads = Runtime.getRuntime().availableProcessors();

    private OverlayBench(Path workdir) {
        this.workdir = workdir;
        this.engineDir = workdir.resolve("engine");
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: OverlayBench WORKDIR");
            System.exit(2);
        }
        new OverlayBench(Path.of(args[0])).run();
    }

    private record Figures(String name, long bytes, double createSeconds, double applySeconds,
                           double decompressSeconds) {
    }

    private void run() throws Exception {
        FileTrees.deleteRecursively(engineDir);
        Files.createDirectories(engineDir);
        Path baseDisk = workdir.resolve("base-disk.raw");
        Path baseMemory = workdir.resolve("base-memory.raw");
        Path launchDisk = workdir.resolve("launch-disk.raw");
        Path launchMemory = workdir.resolve("launch-memory.raw");

        Path baseDir = Files.createDirectories(engineDir.resolve("base"));
        Files.createLink(baseDir.resolve(BaseVm.DISK), baseDisk);
        Files.createLink(baseDir.resolve(BaseVm.MEMORY), baseMemory);
        long sealStart = System.nanoTime();
        BaseVm base = BaseVm.seal(baseDir, new BaseVmDescription("bench", "pc", "core2duo", "bench", "", List.of()),
                threads);
        log("base VM sealed (hash lists of %d MiB disk + %d MiB memory) in %.2f s", Files.size(baseDisk) >> 20,
                Files.size(baseMemory) >> 20, seconds(sealStart));

        Figures baseline = baseline(baseDisk, baseMemory, launchDisk, launchMemory);
        List<Figures> ours = new ArrayList<>();
        for (Codec codec : List.of(Codec.XZ, Codec.ZSTD)) {
            ours.add(engine(base, codec, launchDisk, launchMemory));
        }

        System.out.println();
        System.out.printf(Locale.ROOT, "%-22s %12s %10s %10s %14s%n", "method", "overlay MB", "create s", "apply s",
                "decompress s");
        for (Figures f : concat(baseline, ours)) {
            System.out.printf(Locale.ROOT, "%-22s %12.2f %10.2f %10.3f %14s%n", f.name(), f.bytes() / 1e6,
                    f.createSeconds(), f.applySeconds(),
                    f.decompressSeconds() < 0 ? "-" : String.format(Locale.ROOT, "%.3f", f.decompressSeconds()));
        }
        System.out.println();
        for (Figures f : ours) {
            System.out.printf(Locale.ROOT, "apply/decompress-only %s: %.2f%n", f.name(),
                    f.applySeconds() / f.decompressSeconds());
        }
        for (Figures f : ours) {
            System.out.printf(Locale.ROOT,
                    "RESULT overlay size_ratio=%.3f create_ratio=%.3f apply_ratio=%.3f codec=%s%n",
                    (double) f.bytes() / baseline.bytes(), f.createSeconds() / baseline.createSeconds(),
                    f.applySeconds() / baseline.applySeconds(), f.name().replace("cloudlet-", ""));
        }
    }

    private Figures baseline(Path baseDisk, Path baseMemory, Path launchDisk, Path launchMemory) throws Exception {
        Path dir = Files.createDirectories(engineDir.resolve("baseline"));
        String window = "-B " + Math.max(Files.size(baseDisk), Files.size(baseMemory));
        long start = System.nanoTime();
        shell("xdelta3 -e -9 -f %s -c -s %s %s | xz -9 -T1 -c > %s", window, baseDisk, launchDisk, dir.resolve("disk.xd3.xz"));
        shell("xdelta3 -e -9 -f %s -c -s %s %s | xz -9 -T1 -c > %s", window, baseMemory, launchMemory,
                dir.resolve("memory.xd3.xz"));
        double create = seconds(start);
        long bytes = Files.size(dir.resolve("disk.xd3.xz")) + Files.size(dir.resolve("memory.xd3.xz"));
        log("baseline xdelta3 -9 | xz -9: %.2f MB in %.1f s", bytes / 1e6, create);

        double apply = Double.MAX_VALUE;
        for (int run = 0; run < APPLY_RUNS; run++) {
            Files.deleteIfExists(dir.resolve("disk.out"));
            Files.deleteIfExists(dir.resolve("memory.out"));
            settle();
            start = System.nanoTime();
            shell("xz -dc %s | xdelta3 -d -f %s -c -s %s > %s", dir.resolve("disk.xd3.xz"), window, baseDisk,
                    dir.resolve("disk.out"));
            shell("xz -dc %s | xdelta3 -d -f %s -c -s %s > %s", dir.resolve("memory.xd3.xz"), window, baseMemory,
                    dir.resolve("memory.out"));
            apply = Math.min(apply, seconds(start));
        }
        try (ImageReader disk = new RawImageReader(dir.resolve("disk.out"));
             ImageReader memory = new RawImageReader(dir.resolve("memory.out"))) {
            verify("baseline disk", disk, launchDisk);
            verify("baseline memory", memory, launchMemory);
        }
        log("baseline xz -d | xdelta3 -d: best of %d %.3f s", APPLY_RUNS, apply);
        FileTrees.deleteRecursively(dir.resolve("disk.out"));
        FileTrees.deleteRecursively(dir.resolve("memory.out"));
        return new Figures("xdelta3+xz (baseline)", bytes, create, apply, -1);
    }

    private Figures engine(BaseVm base, Codec codec, Path launchDisk, Path launchMemory) throws Exception {
        Path overlay = engineDir.resolve("app-" + codec.label() + ".overlay");
        OverlayCreator.Options options = OverlayCreator.Options.of(codec);
        long start = System.nanoTime();
        OverlayMeta meta = OverlayCreator.create(base, launchDisk, launchMemory, options, overlay);
        double create = seconds(start);
        log("cloudlet %s level %d: %.2f MB in %.1f s, %d segments, items %s", codec.label(), options.level(),
                Files.size(overlay) / 1e6, create, meta.segments().size(), meta.itemCounts());

        Path disk = engineDir.resolve("launch-disk.qcow2");
        Path memory = engineDir.resolve("launch-memory.raw");
        double apply = Double.MAX_VALUE;
        OverlayApplier.Timings fastest = null;
        for (int run = 0; run < APPLY_RUNS; run++) {
            Files.deleteIfExists(disk);
            Files.deleteIfExists(memory);
            settle();
            start = System.nanoTime();
            OverlayApplier.Result result;
            try (OverlaySource source = FileOverlaySource.open(overlay)) {
                result = OverlayApplier.apply(base, source, disk, memory, OverlayApplier.Options.defaults(),
                        OverlayApplier.Progress.NONE);
            }
            double elapsed = seconds(start);
            if (elapsed < apply) {
                apply = elapsed;
                fastest = result.timings();
            }
            if (run == 0) {
                try (ImageReader rebuiltDisk = Qcow2Reader.open(disk);
                     ImageReader rebuiltMemory = new RawImageReader(memory)) {
                    verify(codec.label() + " disk", rebuiltDisk, launchDisk);
                    verify(codec.label() + " memory", rebuiltMemory, launchMemory);
                }
                log("cloudlet %s: launch disk qcow2 holds %.1f MB (base disk %d MiB not copied)", codec.label(),
                        Files.size(disk) / 1e6, Files.size(base.disk()) >> 20);
            }
        }
        double decompress = Double.MAX_VALUE;
        for (int run = 0; run < APPLY_RUNS; run++) {
            settle();
            decompress = Math.min(decompress, decompressOnly(overlay));
        }
        log("cloudlet %s: apply best of %d %.3f s; read+verify+decompress only %.3f s", codec.label(), APPLY_RUNS,
                apply, decompress);
        log("cloudlet %s: apply phases: fetch+verify %.3f, decompress %.3f, items %.3f (thread-seconds); "
                + "base fill %.3f, digest check %.3f (s)", codec.label(), fastest.fetch().toNanos() / 1e9,
                fastest.decompress().toNanos() / 1e9, fastest.items().toNanos() / 1e9, fastest.fill().toNanos() / 1e9,
                fastest.finish().toNanos() / 1e9);
        Files.deleteIfExists(disk);
        Files.deleteIfExists(memory);
        return new Figures("cloudlet-" + codec.label(), Files.size(overlay), create, apply, decompress);
    }

    /** Reads, verifies and decompresses every segment on the applier's thread count, applying nothing. */
    private double decompressOnly(Path overlay) throws Exception {
        long start = System.nanoTime();
        try (OverlaySource source = FileOverlaySource.open(overlay)) {
            OverlayMeta meta = source.header().meta();
            Codec codec = Codec.byLabel(meta.codec());
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<?>> futures = new ArrayList<>();
                for (int i = 0; i < meta.segments().size(); i++) {
                    int index = i;
                    futures.add(pool.submit(() -> {
                        byte[] compressed = source.readSegment(index);
                        OverlayMeta.Segment segment = meta.segments().get(index);
                        String sha = HexFormat.of().formatHex(Chunks.sha256().digest(compressed));
                        if (!sha.equals(segment.sha256())) {
                            throw new IOException("segment " + index + " corrupt");
                        }
                        byte[] raw = new byte[segment.rawLength()];
                        codec.decompress(compressed, raw, raw.length);
                        return null;
                    }));
                }
                for (Future<?> future : futures) {
                    future.get();
                }
            } finally {
                pool.shutdownNow();
            }
        }
        return seconds(start);
    }

    private static void verify(String what, ImageReader actual, Path expected) throws IOException {
        try (ImageReader reference = new RawImageReader(expected)) {
            if (actual.size() != reference.size()) {
                throw new IllegalStateException(what + ": size " + actual.size() + " != " + reference.size());
            }
            byte[] a = new byte[1 << 20];
            byte[] b = new byte[1 << 20];
            for (long position = 0; position < reference.size(); position += a.length) {
                int length = (int) Math.min(a.length, reference.size() - position);
                actual.read(position, a, 0, length);
                reference.read(position, b, 0, length);
                if (!Arrays.equals(a, 0, length, b, 0, length)) {
                    throw new IllegalStateException(what + " differs from the launch image near offset " + position);
                }
            }
        }
    }

    private static void shell(String format, Object... args) throws Exception {
        String command = String.format(Locale.ROOT, format, args);
        Process process = new ProcessBuilder("bash", "-o", "pipefail", "-c", command).inheritIO().start();
        if (process.waitFor() != 0) {
            throw new IllegalStateException("failed (" + process.exitValue() + "): " + command);
        }
    }

    /**
     * Flushes the previous run's dirty pages before a timed run, so that their writeback does not
     * land inside the next measurement (for the baseline and for us alike).
     */
    private static void settle() throws Exception {
        shell("sync");
        Thread.sleep(200);
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    private static void log(String format, Object... args) {
        System.out.println("bench: " + String.format(Locale.ROOT, format, args));
    }

    private static List<Figures> concat(Figures first, List<Figures> rest) {
        List<Figures> all = new ArrayList<>();
        all.add(first);
        all.addAll(rest);
        return all;
    }
}
