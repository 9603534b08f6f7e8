package io.cloudlet.engine.overlay;

import io.cloudlet.engine.Concurrency;
import io.cloudlet.engine.FileTrees;
import io.cloudlet.engine.basevm.BaseVm;
import io.cloudlet.engine.image.ChunkIndex;
import io.cloudlet.engine.image.Chunks;
import io.cloudlet.engine.image.DigestTable;
import io.cloudlet.engine.image.HashList;
import io.cloudlet.engine.image.ImageKind;
import io.cloudlet.engine.image.ImageReader;
import io.cloudlet.engine.image.RawImageReader;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Extracts the overlay of a launch VM against its base VM.
 *
 * <p>Pass one scans each launch image against the base image at the same position and classifies
 * every chunk that differs: zero, equal to some base chunk (disk or memory, found through the
 * base's hash lists), equal to an earlier changed chunk, or new content. Pass two writes the items
 * in scan order into segments, placing each new content's duplicates right after it in the same
 * segment so that every segment decodes on its own. Segments are compressed on a thread pool and
 * written in order; the file appears under its name only when complete.
 */
public final class OverlayCreator {

    /**
     * How to write the overlay.
     *
     * @param codec       segment codec
     * @param level       codec level
     * @param segmentSize target uncompressed segment size in bytes
     * @param threads     compression threads
     */
    public record Options(Codec codec, int level, int segmentSize, int threads) {

        public static final int DEFAULT_SEGMENT_SIZE = 4 << 20;

        public Options {
            codec.checkLevel(level);
            if (segmentSize < Chunks.SIZE * 4 || segmentSize > OverlayFormat.MAX_SEGMENT_RAW_LENGTH / 2) {
                throw new IllegalArgumentException("segment size " + segmentSize + " is out of range");
            }
            if (threads < 1) {
                throw new IllegalArgumentException("threads must be at least 1");
            }
        }

        public static Options of(Codec codec) {
            return new Options(codec, codec.defaultLevel(), DEFAULT_SEGMENT_SIZE,
                    Runtime.getRuntime().availableProcessors());
        }
    }

    /** Reports progress while an overlay is created; called on the creating thread. */
    public interface Progress {
        /** {@code done} of {@code total} candidate chunks of {@code image} compared with the base. */
        void scanned(ImageKind image, long done, long total);

        /** {@code segments} segments, {@code bytes} compressed bytes, written so far. */
        void written(int segments, long bytes);

        Progress NONE = new Progress() {
            @Override
            public void scanned(ImageKind image, long done, long total) {
            }

            @Override
            public void written(int segments, long bytes) {
            }
        };
    }

    private static final int SCAN_BLOCK_CHUNKS = 256;
    private static final long SCAN_REPORT_CHUNKS = 64 * 1024;
    private static final byte ZERO = 0;
    private static final byte BASE_DISK = 1;
    private static final byte BASE_MEMORY = 2;
    private static final byte UNIQUE = 3;
    private static final byte DUPLICATE = 4;

    private final BaseVm base;
    private final Options options;
    private final Progress progress;

    private final ChunkIndex baseIndex;
    private long[] targets = new long[1024];
    private byte[] kinds = new byte[1024];
    private long[] refs = new long[1024];
    private int entries;
    private byte[] uniqueDigests = new byte[1024 * Chunks.DIGEST_LENGTH];
    private int uniques;
    private final DigestTable selfIndex;

    private OverlayCreator(BaseVm base, Options options, Progress progress) throws IOException {
        this.base = base;
        this.options = options;
        this.progress = progress;
        this.baseIndex = new ChunkIndex(base.diskHashes(), base.memoryHashes());
        this.selfIndex = new DigestTable(4096, (unique, digest, offset) -> Arrays.mismatch(
                uniqueDigests, (int) unique * Chunks.DIGEST_LENGTH, (int) (unique + 1) * Chunks.DIGEST_LENGTH,
                digest, offset, offset + Chunks.DIGEST_LENGTH) < 0);
    }

    /** Creates the overlay of raw launch images; see {@link #create(BaseVm, ImageReader, ImageReader, Options, Path, Progress)}. */
    public static OverlayMeta create(BaseVm base, Path launchDisk, Path launchMemory, Options options, Path out)
            throws IOException {
        try (ImageReader disk = new RawImageReader(launchDisk);
             ImageReader memory = new RawImageReader(launchMemory)) {
            return create(base, disk, memory, Map.of(), options, out, Progress.NONE);
        }
    }

    /**
     * Creates the overlay that turns {@code base} into the launch VM whose images are given, at
     * {@code out}, carrying {@code attachments} (name to content, e.g. the launch VM's device
     * state) after the segments. Only disk chunks in {@code launchDisk.changedChunks()} are read
     * when the reader knows them.
     */
    public static OverlayMeta create(BaseVm base, ImageReader launchDisk, ImageReader launchMemory,
                                     Map<String, byte[]> attachments, Options options, Path out, Progress progress)
            throws IOException {
        return new OverlayCreator(base, options, progress).run(launchDisk, launchMemory, attachments, out);
    }

    private OverlayMeta run(ImageReader launchDisk, ImageReader launchMemory, Map<String, byte[]> attachments,
                            Path out) throws IOException {
        byte[] diskDigests;
        byte[] memoryDigests;
        try (ImageReader baseDisk = new RawImageReader(base.disk());
             ImageReader baseMemory = new RawImageReader(base.memory())) {
            diskDigests = scan(ImageKind.DISK, launchDisk, baseDisk, base.diskHashes(), launchDisk.changedChunks());
            memoryDigests = scan(ImageKind.MEMORY, launchMemory, baseMemory, base.memoryHashes(), null);
        }
        OverlayMeta.LaunchImage disk = new OverlayMeta.LaunchImage(launchDisk.size(),
                HashList.listDigestOf(diskDigests));
        OverlayMeta.LaunchImage memory = new OverlayMeta.LaunchImage(launchMemory.size(),
                HashList.listDigestOf(memoryDigests));

        Path data = out.resolveSibling(out.getFileName() + ".data.partial");
        Path partial = out.resolveSibling(out.getFileName() + ".partial");
        try {
            Emitted emitted;
            List<OverlayMeta.Attachment> attached;
            try (FileChannel dataChannel = FileChannel.open(data, StandardOpenOption.CREATE,
                    StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
                emitted = emit(launchDisk, launchMemory, dataChannel);
                attached = attach(attachments, dataChannel);
            }
            OverlayMeta meta = new OverlayMeta(OverlayMeta.FORMAT_VERSION, base.baseId(), Instant.now(),
                    options.codec().label(), options.level(), Chunks.SIZE, disk, memory, emitted.counts(),
                    emitted.segments(), attached);
            try (OutputStream file = Files.newOutputStream(partial)) {
                file.write(OverlayFormat.encodeHeader(meta));
                Files.copy(data, file);
            }
            Files.move(partial, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return meta;
        } catch (IOException | RuntimeException e) {
            FileTrees.deleteQuietly(partial, e);
            throw e;
        } finally {
            Files.deleteIfExists(data);
        }
    }

    // ---- pass one: classify changed chunks ----

    private byte[] scan(ImageKind image, ImageReader launch, ImageReader baseImage, HashList baseHashes, BitSet hint)
            throws IOException {
        long chunks = Chunks.count(launch.size());
        if (chunks > Integer.MAX_VALUE / Chunks.DIGEST_LENGTH) {
            throw new IOException(image + " image of " + launch.size() + " bytes exceeds the 256 GiB limit");
        }
        byte[] digests = new byte[(int) chunks * Chunks.DIGEST_LENGTH];
        for (long c = 0; c < chunks; c++) {
            baseHashes.copyDigest(c, digests, (int) c * Chunks.DIGEST_LENGTH);
        }
        byte[] launchBlock = new byte[SCAN_BLOCK_CHUNKS * Chunks.SIZE];
        byte[] baseBlock = new byte[SCAN_BLOCK_CHUNKS * Chunks.SIZE];
        MessageDigest sha = Chunks.sha256();
        long total = hint == null ? chunks : hint.get(0, (int) Math.min(chunks, Integer.MAX_VALUE)).cardinality();
        long done = 0;
        long reported = 0;
        progress.scanned(image, 0, total);
        long next = 0;
        while (next < chunks) {
            long from = hint == null ? next : hint.nextSetBit((int) next);
            if (from < 0 || from >= chunks) {
                break;
            }
            long to = Math.min(chunks, from + SCAN_BLOCK_CHUNKS);
            if (hint != null) {
                int clear = hint.nextClearBit((int) from);
                to = Math.min(to, clear);
            }
            int length = (int) ((to - from) << Chunks.SHIFT);
            long position = from << Chunks.SHIFT;
            launch.read(position, launchBlock, 0, length);
            baseImage.read(position, baseBlock, 0, length);
            for (int offset = 0; offset < length; offset += Chunks.SIZE) {
                if (Arrays.mismatch(launchBlock, offset, offset + Chunks.SIZE,
                        baseBlock, offset, offset + Chunks.SIZE) >= 0) {
                    long chunk = from + (offset >> Chunks.SHIFT);
                    classify(SegmentWriter.target(image, chunk), launchBlock, offset, sha, digests,
                            (int) chunk * Chunks.DIGEST_LENGTH);
                }
            }
            done += to - from;
            if (done - reported >= SCAN_REPORT_CHUNKS) {
                progress.scanned(image, done, total);
                reported = done;
            }
            next = to;
        }
        progress.scanned(image, total, total);
        return digests;
    }

    private void classify(long target, byte[] block, int offset, MessageDigest sha, byte[] digests, int digestAt) {
        if (Chunks.isZero(block, offset)) {
            HashList.zeroDigestInto(digests, digestAt);
            add(target, ZERO, 0);
            return;
        }
        sha.update(block, offset, Chunks.SIZE);
        try {
            sha.digest(digests, digestAt, Chunks.DIGEST_LENGTH);
        } catch (java.security.DigestException e) {
            throw new IllegalStateException(e);
        }
        ChunkIndex.Location location = baseIndex.find(digests, digestAt);
        if (location != null) {
            add(target, location.image() == ImageKind.MEMORY ? BASE_MEMORY : BASE_DISK, location.chunk());
            return;
        }
        long earlier = selfIndex.get(digests, digestAt);
        if (earlier >= 0) {
            add(target, DUPLICATE, earlier);
            return;
        }
        if ((uniques + 1) * Chunks.DIGEST_LENGTH > uniqueDigests.length) {
            uniqueDigests = Arrays.copyOf(uniqueDigests, uniqueDigests.length * 2);
        }
        System.arraycopy(digests, digestAt, uniqueDigests, uniques * Chunks.DIGEST_LENGTH, Chunks.DIGEST_LENGTH);
        selfIndex.putIfAbsent(digests, digestAt, uniques);
        add(target, UNIQUE, uniques++);
    }

    private void add(long target, byte kind, long ref) {
        if (entries == targets.length) {
            int grown = targets.length * 2;
            targets = Arrays.copyOf(targets, grown);
            kinds = Arrays.copyOf(kinds, grown);
            refs = Arrays.copyOf(refs, grown);
        }
        targets[entries] = target;
        kinds[entries] = kind;
        refs[entries] = ref;
        entries++;
    }

    private List<OverlayMeta.Attachment> attach(Map<String, byte[]> attachments, FileChannel data)
            throws IOException {
        List<OverlayMeta.Attachment> attached = new ArrayList<>();
        long offset = data.position();
        for (Map.Entry<String, byte[]> attachment : new java.util.TreeMap<>(attachments).entrySet()) {
            byte[] raw = attachment.getValue();
            byte[] compressed = options.codec().compress(raw, raw.length, options.level());
            ByteBuffer buffer = ByteBuffer.wrap(compressed);
            while (buffer.hasRemaining()) {
                data.write(buffer);
            }
            attached.add(new OverlayMeta.Attachment(attachment.getKey(), offset, compressed.length, raw.length,
                    HexFormat.of().formatHex(Chunks.sha256().digest(compressed))));
            offset += compressed.length;
        }
        return attached;
    }

    // ---- pass two: write items into compressed segments ----

    private record Emitted(List<OverlayMeta.Segment> segments, Map<String, Long> counts) {
    }

    private record Compressed(byte[] bytes, int rawLength, int items, String sha256) {
    }

    private Emitted emit(ImageReader launchDisk, ImageReader launchMemory, FileChannel data) throws IOException {
        int[] duplicatesFrom = new int[uniques + 1];
        for (int e = 0; e < entries; e++) {
            if (kinds[e] == DUPLICATE) {
                duplicatesFrom[(int) refs[e] + 1]++;
            }
        }
        for (int u = 0; u < uniques; u++) {
            duplicatesFrom[u + 1] += duplicatesFrom[u];
        }
        int[] duplicates = new int[duplicatesFrom[uniques]];
        int[] fill = Arrays.copyOf(duplicatesFrom, uniques);
        for (int e = 0; e < entries; e++) {
            if (kinds[e] == DUPLICATE) {
                duplicates[fill[(int) refs[e]]++] = e;
            }
        }

        EnumMap<ItemKind, Long> counts = new EnumMap<>(ItemKind.class);
        SegmentWriter writer = new SegmentWriter(options.segmentSize() + (64 << 10));
        SegmentSink sink = new SegmentSink(data);
        byte[] chunk = new byte[Chunks.SIZE];
        byte[] baseChunk = new byte[Chunks.SIZE];
        try (ImageReader baseDisk = new RawImageReader(base.disk());
             ImageReader baseMemory = new RawImageReader(base.memory())) {
            for (int e = 0; e < entries; e++) {
                if (kinds[e] == DUPLICATE) {
                    continue;
                }
                if (writer.size() >= options.segmentSize()) {
                    sink.submit(writer);
                }
                long target = targets[e];
                switch (kinds[e]) {
                    case ZERO -> {
                        writer.zero(target);
                        counts.merge(ItemKind.ZERO, 1L, Long::sum);
                    }
                    case BASE_DISK, BASE_MEMORY -> {
                        writer.base(kinds[e] == BASE_MEMORY ? ImageKind.MEMORY : ImageKind.DISK, target, refs[e]);
                        counts.merge(kinds[e] == BASE_MEMORY ? ItemKind.BASE_MEMORY : ItemKind.BASE_DISK, 1L, Long::sum);
                    }
                    case UNIQUE -> {
                        boolean memory = target < 0;
                        long position = (target & Long.MAX_VALUE) << Chunks.SHIFT;
                        (memory ? launchMemory : launchDisk).read(position, chunk, 0, Chunks.SIZE);
                        (memory ? baseMemory : baseDisk).read(position, baseChunk, 0, Chunks.SIZE);
                        int item = writer.deltaOrRaw(target, chunk, 0, baseChunk, 0);
                        counts.merge(writer.lastKind(), 1L, Long::sum);
                        int unique = (int) refs[e];
                        for (int d = duplicatesFrom[unique]; d < duplicatesFrom[unique + 1]; d++) {
                            writer.self(targets[duplicates[d]], item);
                            counts.merge(ItemKind.SELF, 1L, Long::sum);
                        }
                    }
                    default -> throw new IllegalStateException("unexpected entry kind " + kinds[e]);
                }
            }
            if (writer.items() > 0) {
                sink.submit(writer);
            }
            sink.drain();
        } finally {
            sink.shutdown();
        }
        Map<String, Long> named = new LinkedHashMap<>();
        for (ItemKind kind : ItemKind.values()) {
            named.put(kind.name().toLowerCase(java.util.Locale.ROOT), counts.getOrDefault(kind, 0L));
        }
        return new Emitted(sink.segments, named);
    }

    /** Compresses segments on a pool and appends them to the data file in submission order. */
    private final class SegmentSink {
        private final FileChannel data;
        private final ExecutorService pool = Executors.newFixedThreadPool(options.threads());
        private final ArrayDeque<Future<Compressed>> pending = new ArrayDeque<>();
        private final List<OverlayMeta.Segment> segments = new ArrayList<>();
        private long offset;

        SegmentSink(FileChannel data) {
            this.data = data;
        }

        void submit(SegmentWriter writer) throws IOException {
            byte[] raw = Arrays.copyOf(writer.buffer(), writer.size());
            int items = writer.items();
            writer.reset();
            pending.add(pool.submit(() -> {
                byte[] compressed = options.codec().compress(raw, raw.length, options.level());
                String sha = HexFormat.of().formatHex(Chunks.sha256().digest(compressed));
                return new Compressed(compressed, raw.length, items, sha);
            }));
            while (pending.size() > options.threads() * 2 || (!pending.isEmpty() && pending.peek().isDone())) {
                write(pending.poll());
            }
        }

        void drain() throws IOException {
            while (!pending.isEmpty()) {
                write(pending.poll());
            }
        }

        private void write(Future<Compressed> future) throws IOException {
            Compressed segment = Concurrency.await(future);
            ByteBuffer buffer = ByteBuffer.wrap(segment.bytes());
            while (buffer.hasRemaining()) {
                data.write(buffer);
            }
            segments.add(new OverlayMeta.Segment(offset, segment.bytes().length, segment.rawLength(),
                    segment.items(), segment.sha256()));
            offset += segment.bytes().length;
            progress.written(segments.size(), offset);
        }

        void shutdown() {
            pool.shutdownNow();
        }
    }
}
