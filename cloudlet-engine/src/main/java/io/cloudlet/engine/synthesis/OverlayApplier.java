package io.cloudlet.engine.synthesis;

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
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutionException;
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
     */
    public record Result(OverlayMeta meta, long items, Duration elapsed) {
    }

    private final BaseVm base;
    private final OverlaySource source;
    private final Options options;
    private final Progress progress;
    private final OverlayMeta meta;
    private final Codec codec;

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
            memory.finish(options.threads());
            disk.finish(options.threads());
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
            return new Result(meta, items, Duration.ofNanos(System.nanoTime() - started));
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
        String actual = HashList.of(digests).listDigest();
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
                items += future.get();
            }
            return items;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while applying overlay", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            throw new IOException(cause);
        } finally {
            pool.shutdownNow();
        }
    }

    private int applySegment(int index, Targets targets) throws IOException {
        OverlayMeta.Segment segment = meta.segments().get(index);
        byte[] compressed = source.readSegment(index);
        String sha = HexFormat.of().formatHex(Chunks.sha256().digest(compressed));
        if (!sha.equals(segment.sha256())) {
            throw new InvalidArtifactException("overlay segment " + index + " is corrupt: SHA-256 " + sha
                    + ", meta says " + segment.sha256());
        }
        byte[] raw = new byte[segment.rawLength()];
        try {
            codec.decompress(compressed, raw, raw.length);
        } catch (InvalidArtifactException e) {
            throw new InvalidArtifactException("overlay segment " + index + ": " + e.getMessage(), e);
        }
        SegmentApplication application = new SegmentApplication(targets, segment.items());
        int items = SegmentReader.read(raw, raw.length, index, application);
        application.flush();
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

    /**
     * Applies the items of one segment; one instance per segment, used by one thread. Items that
     * land on consecutive chunks of one allocation unit are gathered and written with one call.
     */
    private static final class SegmentApplication implements SegmentReader.Visitor {
        private static final byte[] ZERO = new byte[Chunks.SIZE];
        private static final int MAX_RUN_CHUNKS = 64;

        /** Where an item's content is: {@code ZERO}, an offset into the segment, or into the arena. */
        private static final long ZERO_CONTENT = -1;
        private static final long IN_ARENA = 1L << 40;

        private final Targets targets;
        private final boolean collectDigests;
        private final byte[] content = new byte[Chunks.SIZE];
        private final MessageDigest sha = Chunks.sha256();
        private final long[] itemContent;
        private final byte[] itemDigests;
        private byte[] segmentData;
        private byte[] arena = new byte[16 * Chunks.SIZE];
        private int arenaSize;
        private final byte[] run = new byte[MAX_RUN_CHUNKS * Chunks.SIZE];
        private LaunchImage runImage;
        private long runFirst;
        private int runChunks;

        SegmentApplication(Targets targets, int expectedItems) {
            this.targets = targets;
            this.collectDigests = targets.diskDigests != null;
            int capacity = Math.max(0, Math.min(expectedItems, 1 << 20));
            this.itemContent = new long[capacity];
            this.itemDigests = new byte[collectDigests ? capacity * Chunks.DIGEST_LENGTH : 0];
        }

        @Override
        public void zero(int item, ImageKind image, long chunk) throws IOException {
            record(item, ZERO_CONTENT);
            if (collectDigests) {
                HashList.zeroDigestInto(itemDigests, item * Chunks.DIGEST_LENGTH);
            }
            emit(item, image, chunk, ZERO, 0);
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
            targets.baseOf(source).read(sourceChunk << Chunks.SHIFT, arena, at, Chunks.SIZE);
            record(item, at | IN_ARENA);
            if (collectDigests) {
                sourceHashes.copyDigest(sourceChunk, itemDigests, item * Chunks.DIGEST_LENGTH);
            }
            emit(item, image, chunk, arena, at);
        }

        @Override
        public void self(int item, ImageKind image, long chunk, int earlierItem) throws IOException {
            long where = itemContent[earlierItem];
            record(item, where);
            if (collectDigests) {
                System.arraycopy(itemDigests, earlierItem * Chunks.DIGEST_LENGTH, itemDigests,
                        item * Chunks.DIGEST_LENGTH, Chunks.DIGEST_LENGTH);
            }
            if (where == ZERO_CONTENT) {
                emit(item, image, chunk, ZERO, 0);
            } else if ((where & IN_ARENA) != 0) {
                emit(item, image, chunk, arena, (int) (where & ~IN_ARENA));
            } else {
                emit(item, image, chunk, segmentData, (int) where);
            }
        }

        @Override
        public void raw(int item, ImageKind image, long chunk, byte[] data, int offset) throws IOException {
            segmentData = data;
            record(item, offset);
            digest(item, data, offset);
            emit(item, image, chunk, data, offset);
        }

        @Override
        public void delta(int item, ImageKind image, long chunk, byte[] data, int offset, int runCount)
                throws IOException {
            int at = arenaSlot();
            targets.baseOf(image).read(chunk << Chunks.SHIFT, arena, at, Chunks.SIZE);
            int cursor = offset;
            for (int r = 0; r < runCount; r++) {
                int runOffset = ((data[cursor] & 0xff) << 8) | (data[cursor + 1] & 0xff);
                int runLength = ((data[cursor + 2] & 0xff) << 8) | (data[cursor + 3] & 0xff);
                System.arraycopy(data, cursor + 4, arena, at + runOffset, runLength);
                cursor += 4 + runLength;
            }
            record(item, at | IN_ARENA);
            digest(item, arena, at);
            emit(item, image, chunk, arena, at);
        }

        /** Writes what is still gathered; called once the segment's items are visited. */
        void flush() throws IOException {
            if (runChunks > 0) {
                runImage.writeChunks(runFirst, runChunks, run, 0);
                runChunks = 0;
            }
        }

        private void emit(int item, ImageKind kind, long chunk, byte[] data, int offset) throws IOException {
            LaunchImage image = targets.image(kind);
            int unit = image.chunksPerUnit();
            boolean extendsRun = runChunks > 0 && image == runImage && chunk == runFirst + runChunks
                    && runChunks < MAX_RUN_CHUNKS && chunk / unit == runFirst / unit;
            if (!extendsRun) {
                flush();
                runImage = image;
                runFirst = chunk;
            }
            System.arraycopy(data, offset, run, runChunks * Chunks.SIZE, Chunks.SIZE);
            runChunks++;
            if (collectDigests) {
                byte[] digests = targets.digestsOf(kind);
                if (chunk >= 0 && chunk < image.chunkCount()) {
                    System.arraycopy(itemDigests, item * Chunks.DIGEST_LENGTH, digests,
                            (int) chunk * Chunks.DIGEST_LENGTH, Chunks.DIGEST_LENGTH);
                }
            }
        }

        private void record(int item, long where) throws InvalidArtifactException {
            if (item >= itemContent.length) {
                throw new InvalidArtifactException("overlay segment holds more items than its meta says");
            }
            itemContent[item] = where;
        }

        /** Room for one more chunk in the arena, which keeps DELTA and BASE content for SELF items. */
        private int arenaSlot() {
            if (arenaSize + Chunks.SIZE > arena.length) {
                arena = java.util.Arrays.copyOf(arena, arena.length * 2);
            }
            int at = arenaSize;
            arenaSize += Chunks.SIZE;
            return at;
        }

        private void digest(int item, byte[] data, int offset) {
            if (!collectDigests) {
                return;
            }
            sha.update(data, offset, Chunks.SIZE);
            try {
                sha.digest(itemDigests, item * Chunks.DIGEST_LENGTH, Chunks.DIGEST_LENGTH);
            } catch (DigestException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
