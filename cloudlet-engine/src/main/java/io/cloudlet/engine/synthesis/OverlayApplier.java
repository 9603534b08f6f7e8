package io.cloudlet.engine.synthesis;

import io.cloudlet.engine.Concurrency;
import io.cloudlet.engine.FileTrees;
import io.cloudlet.engine.InvalidArtifactException;
import io.cloudlet.engine.basevm.BaseVm;
import io.cloudlet.engine.image.Chunks;
import io.cloudlet.engine.image.HashList;
import io.cloudlet.engine.image.ImageKind;
import io.cloudlet.engine.image.ImageReader;
import io.cloudlet.engine.image.MappedImageReader;
import io.cloudlet.engine.overlay.Codec;
import io.cloudlet.engine.overlay.OverlayMeta;
import io.cloudlet.engine.overlay.OverlaySource;
import io.cloudlet.engine.overlay.SegmentReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestException;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Rebuilds a launch VM from a base VM and an overlay. Segments are read, verified against their
 * SHA-256, decompressed and applied on a pool of threads, at most two per thread in flight, so
 * memory stays bounded by a few segments whatever the overlay's size. Every rebuilt chunk's digest
 * is collected and the two launch hash lists are checked against the overlay's meta at the end.
 * The outputs appear under their names only on success; on any failure nothing is left.
 */
public final class OverlayApplier {

    /**
     * @param threads             decoding threads
     * @param verifyLaunchDigests recompute the launch images' hash list digests and compare
     */
    public record Options(int threads, boolean verifyLaunchDigests) {

        public Options {
            if (threads < 1) {
                throw new IllegalArgumentException("threads must be at least 1");
            }
        }

        public static Options defaults() {
            return new Options(Runtime.getRuntime().availableProcessors(), true);
        }
    }

    /** Reports progress after each applied segment. Called from decoding threads. */
    @FunctionalInterface
    public interface Progress {
        void segmentApplied(int segmentsDone, int segmentsTotal, long compressedBytesDone);

        Progress NONE = (done, total, bytes) -> { };
    }

    /**
     * What an application did.
     *
     * @param meta    the overlay's meta
     * @param items   items applied
     * @param elapsed wall time of the whole application
     * @param timings where the time went
     */
    public record Result(OverlayMeta meta, long items, Duration elapsed, Timings timings) {
    }

    /**
     * Time spent per phase. The per-segment phases are summed over the decoding threads, so they
     * can add up to more than the wall time.
     *
     * @param fetch      reading segments from the source and checking their SHA-256
     * @param decompress decompressing segments
     * @param items      resolving items and writing them
     * @param fill       filling the unchanged rest of the images from the base, and the qcow2 metadata (wall)
     * @param finish     launch digest checks and renames (wall time)
     */
    public record Timings(Duration fetch, Duration decompress, Duration items, Duration fill, Duration finish) {
    }

    private final BaseVm base;
    private final OverlaySource source;
    private final Options options;
    private final Progress progress;
    private final OverlayMeta meta;
    private final Codec codec;
    private final ThreadLocal<ThreadBuffers> threadBuffers = ThreadLocal.withInitial(ThreadBuffers::new);
    private final AtomicLong fetchNanos = new AtomicLong();
    private final AtomicLong decompressNanos = new AtomicLong();
    private final AtomicLong itemNanos = new AtomicLong();

    private OverlayApplier(BaseVm base, OverlaySource source, Options options, Progress progress)
            throws InvalidArtifactException {
        this.base = base;
        this.source = source;
        this.options = options;
        this.progress = progress;
        this.meta = source.header().meta();
        this.codec = Codec.byLabel(meta.codec());
    }

    /**
     * Applies the overlay from {@code source} to {@code base}, writing the launch disk (qcow2 over
     * the base disk) to {@code diskOut} and the launch memory (raw) to {@code memoryOut}. Neither
     * output may exist yet.
     */
    public static Result apply(BaseVm base, OverlaySource source, Path diskOut, Path memoryOut, Options options,
                               Progress progress) throws IOException {
        OverlayMeta meta = source.header().meta();
        if (!meta.baseId().equals(base.baseId())) {
            throw new InvalidArtifactException("overlay " + source.describe() + " was made for base VM "
                    + meta.baseId() + ", not for base VM '" + base.manifest().name() + "' (" + base.baseId() + ")");
        }
        for (Path out : List.of(diskOut, memoryOut)) {
            if (Files.exists(out)) {
                throw new java.nio.file.FileAlreadyExistsException(out.toString(), null, "output exists");
            }
        }
        return new OverlayApplier(base, source, options, progress).run(diskOut, memoryOut);
    }

    private Result run(Path diskOut, Path memoryOut) throws IOException {
        long started = System.nanoTime();
        Path diskPartial = diskOut.resolveSibling(diskOut.getFileName() + ".partial");
        Path memoryPartial = memoryOut.resolveSibling(memoryOut.getFileName() + ".partial");
        Files.deleteIfExists(diskPartial);
        Files.deleteIfExists(memoryPartial);
        try (ImageReader baseDisk = new MappedImageReader(base.disk());
             ImageReader baseMemory = new MappedImageReader(base.memory());
             LaunchImage disk = new QcowLaunchDisk(diskPartial, base.disk(), base.diskHashes(), meta.disk().size());
             LaunchImage memory = new RawLaunchMemory(memoryPartial, base.memory(), base.memoryHashes(),
                     meta.memory().size())) {
            Targets targets = new Targets(disk, memory, baseDisk, baseMemory);
            long items = applySegments(targets);
            long filling = System.nanoTime();
            memory.finish(options.threads());
            disk.finish(options.threads());
            long finishing = System.nanoTime();
            if (options.verifyLaunchDigests()) {
                checkDigest("disk", targets.diskDigests, meta.disk());
                checkDigest("memory", targets.memoryDigests, meta.memory());
            }
            disk.close();
            memory.close();
            Files.move(diskPartial, diskOut, StandardCopyOption.ATOMIC_MOVE);
            try {
                Files.move(memoryPartial, memoryOut, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                FileTrees.deleteQuietly(diskOut, e);
                throw e;
            }
            long done = System.nanoTime();
            Timings timings = new Timings(Duration.ofNanos(fetchNanos.get()), Duration.ofNanos(decompressNanos.get()),
                    Duration.ofNanos(itemNanos.get()), Duration.ofNanos(finishing - filling),
                    Duration.ofNanos(done - finishing));
            return new Result(meta, items, Duration.ofNanos(done - started), timings);
        } catch (IOException | RuntimeException e) {
            FileTrees.deleteQuietly(diskPartial, e);
            FileTrees.deleteQuietly(memoryPartial, e);
            throw e;
        }
    }

    private void checkDigest(String name, byte[] digests, OverlayMeta.LaunchImage expected)
            throws InvalidArtifactException {
        if (digests == null) {
            return;
        }
        String actual = HashList.listDigestOf(digests);
        if (!actual.equals(expected.hashListDigest())) {
            throw new InvalidArtifactException("rebuilt launch " + name + " does not match the overlay's digest ("
                    + actual + " != " + expected.hashListDigest() + ")");
        }
    }

    private long applySegments(Targets targets) throws IOException {
        int total = meta.segments().size();
        ExecutorService pool = Executors.newFixedThreadPool(options.threads());
        Semaphore inFlight = new Semaphore(options.threads() * 2);
        AtomicInteger done = new AtomicInteger();
        AtomicLong bytesDone = new AtomicLong();
        AtomicBoolean failed = new AtomicBoolean();
        List<Future<Integer>> futures = new ArrayList<>(total);
        try {
            for (int i = 0; i < total && !failed.get(); i++) {
                int index = i;
                inFlight.acquire();
                futures.add(pool.submit(() -> {
                    try {
                        int applied = applySegment(index, targets);
                        progress.segmentApplied(done.incrementAndGet(), total,
                                bytesDone.addAndGet(meta.segments().get(index).length()));
                        return applied;
                    } catch (IOException | RuntimeException e) {
                        failed.set(true);
                        throw e;
                    } finally {
                        inFlight.release();
                    }
                }));
            }
            long items = 0;
            for (Future<Integer> future : futures) {
                items += Concurrency.await(future);
            }
            return items;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while applying overlay");
        } finally {
            pool.shutdownNow();
        }
    }

    private int applySegment(int index, Targets targets) throws IOException {
        OverlayMeta.Segment segment = meta.segments().get(index);
        long started = System.nanoTime();
        byte[] compressed = source.readSegment(index);
        String sha = HexFormat.of().formatHex(Chunks.sha256().digest(compressed));
        if (!sha.equals(segment.sha256())) {
            throw new InvalidArtifactException("overlay segment " + index + " is corrupt: SHA-256 " + sha
                    + ", meta says " + segment.sha256());
        }
        ThreadBuffers buffers = threadBuffers.get();
        byte[] raw = buffers.raw(segment.rawLength());
        long fetched = System.nanoTime();
        try {
            codec.decompress(compressed, raw, segment.rawLength());
        } catch (InvalidArtifactException e) {
            throw new InvalidArtifactException("overlay segment " + index + ": " + e.getMessage(), e);
        }
        long decompressed = System.nanoTime();
        SegmentApplication application = new SegmentApplication(targets, buffers, raw);
        int items = SegmentReader.read(raw, segment.rawLength(), index, application);
        application.write();
        fetchNanos.addAndGet(fetched - started);
        decompressNanos.addAndGet(decompressed - fetched);
        itemNanos.addAndGet(System.nanoTime() - decompressed);
        if (items != segment.items()) {
            throw new InvalidArtifactException("overlay segment " + index + " holds " + items + " items, meta says "
                    + segment.items());
        }
        return items;
    }

    /** The two images being written, their bases, and the launch digests being collected. */
    private final class Targets {
        final LaunchImage disk;
        final LaunchImage memory;
        final ImageReader baseDisk;
        final ImageReader baseMemory;
        final byte[] diskDigests;
        final byte[] memoryDigests;
        final HashList baseDiskHashes;
        final HashList baseMemoryHashes;

        Targets(LaunchImage disk, LaunchImage memory, ImageReader baseDisk, ImageReader baseMemory)
                throws IOException {
            this.disk = disk;
            this.memory = memory;
            this.baseDisk = baseDisk;
            this.baseMemory = baseMemory;
            this.baseDiskHashes = base.diskHashes();
            this.baseMemoryHashes = base.memoryHashes();
            this.diskDigests = options.verifyLaunchDigests() ? initialDigests(baseDiskHashes, disk.chunkCount()) : null;
            this.memoryDigests = options.verifyLaunchDigests()
                    ? initialDigests(baseMemoryHashes, memory.chunkCount()) : null;
        }

        private byte[] initialDigests(HashList baseHashes, long chunks) throws InvalidArtifactException {
            if (chunks > Integer.MAX_VALUE / Chunks.DIGEST_LENGTH) {
                throw new InvalidArtifactException("launch image exceeds the 256 GiB limit");
            }
            byte[] digests = new byte[(int) chunks * Chunks.DIGEST_LENGTH];
            for (long c = 0; c < chunks; c++) {
                baseHashes.copyDigest(c, digests, (int) c * Chunks.DIGEST_LENGTH);
            }
            return digests;
        }

        LaunchImage image(ImageKind kind) {
            return kind == ImageKind.MEMORY ? memory : disk;
        }

        ImageReader baseOf(ImageKind kind) {
            return kind == ImageKind.MEMORY ? baseMemory : baseDisk;
        }

        HashList baseHashesOf(ImageKind kind) {
            return kind == ImageKind.MEMORY ? baseMemoryHashes : baseDiskHashes;
        }

        byte[] digestsOf(ImageKind kind) {
            return kind == ImageKind.MEMORY ? memoryDigests : diskDigests;
        }
    }

    /** Buffers one decoding thread reuses from segment to segment. */
    private static final class ThreadBuffers {
        byte[] raw = new byte[0];
        byte[] arena = new byte[64 * Chunks.SIZE];
        byte[] run = new byte[SegmentApplication.MAX_RUN_CHUNKS * Chunks.SIZE];
        long[] writes = new long[1024];
        long[] sources = new long[1024];
        byte[] digests = new byte[1024 * Chunks.DIGEST_LENGTH];
        final MessageDigest sha = Chunks.sha256();

        byte[] raw(int length) {
            if (raw.length < length) {
                raw = new byte[length];
            }
            return raw;
        }
    }

    /**
     * Applies the items of one segment on one thread. Visiting an item resolves where its content
     * is (the segment itself, the arena for DELTA and BASE content, or zeros) and records its
     * digest; {@link #write} then sorts the segment's writes by target and writes runs of
     * consecutive chunks with one call each.
     */
    private static final class SegmentApplication implements SegmentReader.Visitor {
        static final int MAX_RUN_CHUNKS = 64;
        private static final byte[] ZERO = new byte[Chunks.SIZE];
        private static final long ZERO_CONTENT = -1;
        private static final long IN_ARENA = 1L << 40;
        private static final int ITEM_BITS = 25;
        private static final int MAX_ITEMS = 1 << ITEM_BITS;

        private final Targets targets;
        private final ThreadBuffers buffers;
        private final byte[] data;
        private final boolean collectDigests;
        private int arenaSize;
        private int count;

        SegmentApplication(Targets targets, ThreadBuffers buffers, byte[] data) {
            this.targets = targets;
            this.buffers = buffers;
            this.data = data;
            this.collectDigests = targets.diskDigests != null;
        }

        @Override
        public void zero(int item, ImageKind image, long chunk) throws IOException {
            record(item, image, chunk, ZERO_CONTENT);
            if (collectDigests) {
                HashList.zeroDigestInto(buffers.digests, item * Chunks.DIGEST_LENGTH);
                publishDigest(item, image, chunk);
            }
        }

        @Override
        public void base(int item, ImageKind image, long chunk, ImageKind source, long sourceChunk)
                throws IOException {
            HashList sourceHashes = targets.baseHashesOf(source);
            if (sourceChunk >= sourceHashes.chunkCount()) {
                throw new InvalidArtifactException("overlay item " + item + " refers to base " + source
                        + " chunk " + sourceChunk + ", past its end");
            }
            int at = arenaSlot();
            targets.baseOf(source).read(sourceChunk << Chunks.SHIFT, buffers.arena, at, Chunks.SIZE);
            record(item, image, chunk, at | IN_ARENA);
            if (collectDigests) {
                sourceHashes.copyDigest(sourceChunk, buffers.digests, item * Chunks.DIGEST_LENGTH);
                publishDigest(item, image, chunk);
            }
        }

        @Override
        public void self(int item, ImageKind image, long chunk, int earlierItem) throws IOException {
            record(item, image, chunk, buffers.sources[earlierItem]);
            if (collectDigests) {
                System.arraycopy(buffers.digests, earlierItem * Chunks.DIGEST_LENGTH, buffers.digests,
                        item * Chunks.DIGEST_LENGTH, Chunks.DIGEST_LENGTH);
                publishDigest(item, image, chunk);
            }
        }

        @Override
        public void raw(int item, ImageKind image, long chunk, byte[] segment, int offset) throws IOException {
            record(item, image, chunk, offset);
            digest(item, image, chunk, segment, offset);
        }

        @Override
        public void delta(int item, ImageKind image, long chunk, byte[] segment, int offset, int runCount)
                throws IOException {
            int at = arenaSlot();
            byte[] arena = buffers.arena;
            targets.baseOf(image).read(chunk << Chunks.SHIFT, arena, at, Chunks.SIZE);
            int cursor = offset;
            for (int r = 0; r < runCount; r++) {
                int runOffset = ((segment[cursor] & 0xff) << 8) | (segment[cursor + 1] & 0xff);
                int runLength = ((segment[cursor + 2] & 0xff) << 8) | (segment[cursor + 3] & 0xff);
                System.arraycopy(segment, cursor + 4, arena, at + runOffset, runLength);
                cursor += 4 + runLength;
            }
            record(item, image, chunk, at | IN_ARENA);
            digest(item, image, chunk, arena, at);
        }

        /** Writes the segment's chunks in target order, consecutive chunks of one unit per call. */
        void write() throws IOException {
            long[] keys = buffers.writes;
            Arrays.sort(keys, 0, count);
            byte[] run = buffers.run;
            int i = 0;
            while (i < count) {
                long first = keys[i] >>> ITEM_BITS;
                LaunchImage image = imageOf(first);
                long firstChunk = first & Integer.MAX_VALUE;
                int unit = image.chunksPerUnit();
                int chunks = 0;
                while (i < count && chunks < MAX_RUN_CHUNKS) {
                    long target = keys[i] >>> ITEM_BITS;
                    if (target != first + chunks || (firstChunk + chunks) / unit != firstChunk / unit) {
                        break;
                    }
                    long source = buffers.sources[(int) (keys[i] & (MAX_ITEMS - 1))];
                    if (source == ZERO_CONTENT) {
                        System.arraycopy(ZERO, 0, run, chunks * Chunks.SIZE, Chunks.SIZE);
                    } else if ((source & IN_ARENA) != 0) {
                        System.arraycopy(buffers.arena, (int) (source & ~IN_ARENA), run, chunks * Chunks.SIZE,
                                Chunks.SIZE);
                    } else {
                        System.arraycopy(data, (int) source, run, chunks * Chunks.SIZE, Chunks.SIZE);
                    }
                    chunks++;
                    i++;
                }
                image.writeChunks(firstChunk, chunks, run, 0);
            }
        }

        private LaunchImage imageOf(long target) {
            return (target & (1L << 31)) != 0 ? targets.memory : targets.disk;
        }

        private void record(int item, ImageKind image, long chunk, long source) throws InvalidArtifactException {
            if (chunk < 0 || chunk > Integer.MAX_VALUE) {
                throw new InvalidArtifactException("overlay item " + item + " targets chunk " + chunk
                        + ", past the image's end");
            }
            if (item >= MAX_ITEMS) {
                throw new InvalidArtifactException("overlay segment holds more than " + MAX_ITEMS + " items");
            }
            if (item >= buffers.writes.length) {
                int grown = Math.min(MAX_ITEMS, buffers.writes.length * 2);
                buffers.writes = Arrays.copyOf(buffers.writes, grown);
                buffers.sources = Arrays.copyOf(buffers.sources, grown);
                buffers.digests = Arrays.copyOf(buffers.digests, grown * Chunks.DIGEST_LENGTH);
            }
            long target = (image == ImageKind.MEMORY ? 1L << 31 : 0) | chunk;
            buffers.writes[item] = (target << ITEM_BITS) | item;
            buffers.sources[item] = source;
            count = item + 1;
        }

        /** Room for one more chunk in the arena, which holds DELTA and BASE content. */
        private int arenaSlot() {
            if (arenaSize + Chunks.SIZE > buffers.arena.length) {
                buffers.arena = Arrays.copyOf(buffers.arena, buffers.arena.length * 2);
            }
            int at = arenaSize;
            arenaSize += Chunks.SIZE;
            return at;
        }

        private void digest(int item, ImageKind image, long chunk, byte[] content, int offset) {
            if (!collectDigests) {
                return;
            }
            MessageDigest sha = buffers.sha;
            sha.update(content, offset, Chunks.SIZE);
            try {
                sha.digest(buffers.digests, item * Chunks.DIGEST_LENGTH, Chunks.DIGEST_LENGTH);
            } catch (DigestException e) {
                throw new IllegalStateException(e);
            }
            publishDigest(item, image, chunk);
        }

        private void publishDigest(int item, ImageKind image, long chunk) {
            byte[] launch = targets.digestsOf(image);
            if (chunk < launch.length / Chunks.DIGEST_LENGTH) {
                System.arraycopy(buffers.digests, item * Chunks.DIGEST_LENGTH, launch,
                        (int) chunk * Chunks.DIGEST_LENGTH, Chunks.DIGEST_LENGTH);
            }
        }
    }
}
