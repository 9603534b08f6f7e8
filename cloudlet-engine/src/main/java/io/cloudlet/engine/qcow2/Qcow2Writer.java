package io.cloudlet.engine.qcow2;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes a qcow2 v3 image with a raw backing file, holding only the clusters it is given. Data
 * clusters are appended as they are allocated (from any thread); {@link #finish} then appends the
 * L2 tables, the L1 table and the refcount structures and writes the header last, so a file whose
 * writing was cut short has no valid header.
 */
public final class Qcow2Writer implements Closeable {

    public static final int CLUSTER_BITS = 16;
    public static final int CLUSTER_SIZE = 1 << CLUSTER_BITS;
    private static final int L2_ENTRIES = CLUSTER_SIZE / 8;
    private static final int REFCOUNT_ORDER = 4;
    private static final int REFCOUNTS_PER_BLOCK = CLUSTER_SIZE * 8 / (1 << REFCOUNT_ORDER);

    private final FileChannel channel;
    private final long virtualSize;
    private final byte[] backingFile;
    private final AtomicLong nextCluster = new AtomicLong(1);
    private final Map<Long, Long> mapping = new ConcurrentHashMap<>();

    /**
     * Creates {@code file} (which must not exist) for a disk of {@code virtualSize} bytes over the
     * raw image {@code backingFile}, recorded by its absolute path.
     */
    public Qcow2Writer(Path file, Path backingFile, long virtualSize) throws IOException {
        this(file, backingFile, virtualSize, StandardOpenOption.CREATE_NEW);
    }

    private Qcow2Writer(Path file, Path backingFile, long virtualSize, StandardOpenOption mode) throws IOException {
        this.backingFile = backingFile.toAbsolutePath().toString().getBytes(StandardCharsets.UTF_8);
        if (this.backingFile.length > 1023) {
            throw new IllegalArgumentException("backing file path is longer than qcow2 allows");
        }
        this.virtualSize = virtualSize;
        this.channel = FileChannel.open(file, mode, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }

    /**
     * Rewrites the existing image {@code file} from scratch, in place (the same inode): for an image
     * a paused, not yet activated VM has open, which re-reads the image when it activates it.
     */
    public static Qcow2Writer overwrite(Path file, Path backingFile, long virtualSize) throws IOException {
        return new Qcow2Writer(file, backingFile, virtualSize, StandardOpenOption.TRUNCATE_EXISTING);
    }

    /**
     * Allocates the host cluster for guest cluster {@code guestCluster} and returns its file offset.
     * Callers allocate each guest cluster once.
     */
    public long allocate(long guestCluster) {
        long offset = nextCluster.getAndIncrement() << CLUSTER_BITS;
        if (mapping.putIfAbsent(guestCluster, offset) != null) {
            throw new IllegalStateException("guest cluster " + guestCluster + " allocated twice");
        }
        return offset;
    }

    public void write(ByteBuffer source, long fileOffset) throws IOException {
        long position = fileOffset;
        while (source.hasRemaining()) {
            position += channel.write(source, position);
        }
    }

    /** Writes the metadata and the header. The writer is unusable afterwards but for {@link #close}. */
    public void finish() throws IOException {
        TreeMap<Long, TreeMap<Long, Long>> tables = new TreeMap<>();
        mapping.forEach((guest, host) ->
                tables.computeIfAbsent(guest / L2_ENTRIES, k -> new TreeMap<>()).put(guest % L2_ENTRIES, host));

        long l1Size = Math.max(1, ceilDiv(virtualSize, (long) CLUSTER_SIZE * L2_ENTRIES));
        long l1Clusters = ceilDiv(l1Size * 8, CLUSTER_SIZE);
        long firstMetadata = nextCluster.get();
        long l2Start = firstMetadata;
        long l1Start = l2Start + tables.size();
        long refcountTableStart = l1Start + l1Clusters;
        long blocks = 1;
        long tableClusters = 1;
        long total;
        while (true) {
            total = refcountTableStart + tableClusters + blocks;
            long neededBlocks = ceilDiv(total, REFCOUNTS_PER_BLOCK);
            long neededTable = ceilDiv(neededBlocks * 8, CLUSTER_SIZE);
            if (neededBlocks == blocks && neededTable == tableClusters) {
                break;
            }
            blocks = neededBlocks;
            tableClusters = neededTable;
        }
        long refcountBlocksStart = refcountTableStart + tableClusters;

        ByteBuffer l1 = ByteBuffer.allocate((int) (l1Clusters * CLUSTER_SIZE));
        long l2Cluster = l2Start;
        for (Map.Entry<Long, TreeMap<Long, Long>> table : tables.entrySet()) {
            ByteBuffer l2 = ByteBuffer.allocate(CLUSTER_SIZE);
            table.getValue().forEach((index, host) -> l2.putLong((int) (index * 8), host | Qcow2.COPIED));
            write(l2, l2Cluster << CLUSTER_BITS);
            l1.putLong((int) (table.getKey() * 8), (l2Cluster << CLUSTER_BITS) | Qcow2.COPIED);
            l2Cluster++;
        }
        write(l1, l1Start << CLUSTER_BITS);

        ByteBuffer refcountTable = ByteBuffer.allocate((int) (tableClusters * CLUSTER_SIZE));
        for (long b = 0; b < blocks; b++) {
            refcountTable.putLong((int) (b * 8), (refcountBlocksStart + b) << CLUSTER_BITS);
        }
        write(refcountTable, refcountTableStart << CLUSTER_BITS);
        for (long b = 0; b < blocks; b++) {
            ByteBuffer block = ByteBuffer.allocate(CLUSTER_SIZE);
            for (long c = b * REFCOUNTS_PER_BLOCK; c < Math.min(total, (b + 1) * REFCOUNTS_PER_BLOCK); c++) {
                block.putShort((int) ((c - b * REFCOUNTS_PER_BLOCK) * 2), (short) 1);
            }
            write(block, (refcountBlocksStart + b) << CLUSTER_BITS);
        }
        write(header(l1Size, l1Start << CLUSTER_BITS, refcountTableStart << CLUSTER_BITS, tableClusters), 0);
    }

    private ByteBuffer header(long l1Size, long l1Offset, long refcountTableOffset, long refcountTableClusters) {
        byte[] format = "raw".getBytes(StandardCharsets.US_ASCII);
        int extensions = 8 + 8 + 8;
        int backingOffset = Qcow2.HEADER_V3_LENGTH + extensions;
        ByteBuffer header = ByteBuffer.allocate(CLUSTER_SIZE);
        header.putInt(Qcow2.MAGIC).putInt(3)
                .putLong(backingOffset).putInt(backingFile.length)
                .putInt(CLUSTER_BITS).putLong(virtualSize)
                .putInt(0) // no encryption
                .putInt((int) l1Size).putLong(l1Offset)
                .putLong(refcountTableOffset).putInt((int) refcountTableClusters)
                .putInt(0).putLong(0) // no snapshots
                .putLong(0).putLong(0).putLong(0) // incompatible, compatible, autoclear features
                .putInt(REFCOUNT_ORDER).putInt(Qcow2.HEADER_V3_LENGTH);
        header.putInt(Qcow2.EXTENSION_BACKING_FORMAT).putInt(format.length).put(format)
                .position(header.position() + (8 - format.length));
        header.putInt(0).putInt(0); // end of extensions
        header.put(backingFile);
        return header.flip().limit(CLUSTER_SIZE);
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
