package io.cloudlet.engine.qcow2;

import io.cloudlet.engine.InvalidArtifactException;
import io.cloudlet.engine.image.Chunks;
import io.cloudlet.engine.image.ImageReader;
import io.cloudlet.engine.image.RawImageReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.BitSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads a qcow2 image (version 2 or 3) layered over a raw backing image, such as the disk of a
 * running instance. Unallocated clusters read from the backing image; {@link #changedChunks}
 * lists the chunks of the clusters the layer holds. Compressed clusters, encryption, external
 * data files and extended L2 entries are refused: QEMU does not produce them for guest writes.
 */
public final class Qcow2Reader implements ImageReader {

    private final FileChannel channel;
    private final ImageReader backing;
    private final boolean ownsBacking;
    private final long size;
    private final int clusterBits;
    private final int l2Bits;
    private final long[] l1;
    private final ConcurrentHashMap<Integer, long[]> l2Cache = new ConcurrentHashMap<>();

    private Qcow2Reader(FileChannel channel, ImageReader backing, boolean ownsBacking, long size, int clusterBits,
                        long[] l1) {
        this.channel = channel;
        this.backing = backing;
        this.ownsBacking = ownsBacking;
        this.size = size;
        this.clusterBits = clusterBits;
        this.l2Bits = clusterBits - 3;
        this.l1 = l1;
    }

    /** Opens {@code file}, reading unallocated clusters from the backing file its header names. */
    public static Qcow2Reader open(Path file) throws IOException {
        return open(file, null);
    }

    /** Opens {@code file} with an explicit backing image (null: the one its header names, if any). */
    public static Qcow2Reader open(Path file, ImageReader backing) throws IOException {
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
        try {
            ByteBuffer header = ByteBuffer.allocate(Qcow2.HEADER_V3_LENGTH);
            channel.read(header, 0);
            header.flip();
            if (header.remaining() < 72 || header.getInt(0) != Qcow2.MAGIC) {
                throw new InvalidArtifactException(file.getFileName() + " is not a qcow2 image");
            }
            int version = header.getInt(4);
            long backingOffset = header.getLong(8);
            int backingLength = header.getInt(16);
            int clusterBits = header.getInt(20);
            long size = header.getLong(24);
            int crypt = header.getInt(32);
            int l1Size = header.getInt(36);
            long l1Offset = header.getLong(40);
            if (version < 2 || version > 3 || clusterBits < 9 || clusterBits > 21 || crypt != 0 || l1Size < 0) {
                throw new InvalidArtifactException(file.getFileName() + ": unsupported qcow2 (version " + version
                        + ", cluster bits " + clusterBits + ", encryption " + crypt + ")");
            }
            if (version == 3) {
                long incompatible = header.getLong(72);
                long refused = Qcow2.INCOMPATIBLE_CORRUPT | Qcow2.INCOMPATIBLE_EXTERNAL_DATA | Qcow2.INCOMPATIBLE_EXTENDED_L2;
                if ((incompatible & ~Qcow2.INCOMPATIBLE_DIRTY & ~(1L << 3)) != 0 || (incompatible & refused) != 0) {
                    throw new InvalidArtifactException(file.getFileName() + ": qcow2 features " + incompatible
                            + " are not supported");
                }
            }
            ImageReader base = backing;
            if (base == null && backingLength > 0) {
                ByteBuffer name = ByteBuffer.allocate(backingLength);
                channel.read(name, backingOffset);
                Path backingPath = file.toAbsolutePath().resolveSibling(
                        new String(name.array(), StandardCharsets.UTF_8));
                base = new RawImageReader(backingPath);
            }
            ByteBuffer l1Bytes = ByteBuffer.allocate(l1Size * 8);
            readFully(channel, l1Bytes, l1Offset);
            long[] l1 = new long[l1Size];
            l1Bytes.flip().asLongBuffer().get(l1);
            return new Qcow2Reader(channel, base, base != backing, size, clusterBits, l1);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public void read(long position, byte[] target, int offset, int length) throws IOException {
        int done = 0;
        while (done < length) {
            long at = position + done;
            int inCluster = (int) (at & ((1L << clusterBits) - 1));
            int piece = Math.min(length - done, (1 << clusterBits) - inCluster);
            if (at >= size) {
                Arrays.fill(target, offset + done, offset + length, (byte) 0);
                return;
            }
            long entry = l2Entry(at >>> clusterBits);
            if ((entry & Qcow2.COMPRESSED) != 0) {
                throw new InvalidArtifactException("compressed qcow2 clusters are not supported");
            }
            long host = entry & Qcow2.OFFSET_MASK;
            if ((entry & Qcow2.ZERO_FLAG) != 0) {
                Arrays.fill(target, offset + done, offset + done + piece, (byte) 0);
            } else if (host != 0) {
                readFully(channel, ByteBuffer.wrap(target, offset + done, piece), host + inCluster);
            } else if (backing != null) {
                backing.read(at, target, offset + done, piece);
            } else {
                Arrays.fill(target, offset + done, offset + done + piece, (byte) 0);
            }
            done += piece;
        }
    }

    /** The 4 KiB chunks covered by clusters this layer holds (data or zero clusters). */
    @Override
    public BitSet changedChunks() throws IOException {
        BitSet changed = new BitSet();
        long clusters = (size + (1L << clusterBits) - 1) >>> clusterBits;
        int chunksPerCluster = Math.max(1, 1 << (clusterBits - Chunks.SHIFT));
        for (long cluster = 0; cluster < clusters; cluster++) {
            long entry = l2Entry(cluster);
            if ((entry & (Qcow2.OFFSET_MASK | Qcow2.ZERO_FLAG)) != 0) {
                long first = (cluster << clusterBits) >>> Chunks.SHIFT;
                changed.set((int) first, (int) Math.min(first + chunksPerCluster, Chunks.count(size)));
            }
        }
        return changed;
    }

    private long l2Entry(long cluster) throws IOException {
        long l1Index = cluster >>> l2Bits;
        if (l1Index >= l1.length) {
            return 0;
        }
        long l2Offset = l1[(int) l1Index] & Qcow2.OFFSET_MASK;
        if (l2Offset == 0) {
            return 0;
        }
        long[] table = l2Cache.get((int) l1Index);
        if (table == null) {
            ByteBuffer bytes = ByteBuffer.allocate(1 << clusterBits);
            readFully(channel, bytes, l2Offset);
            table = new long[1 << l2Bits];
            bytes.flip().asLongBuffer().get(table);
            l2Cache.put((int) l1Index, table);
        }
        return table[(int) (cluster & ((1L << l2Bits) - 1))];
    }

    private static void readFully(FileChannel channel, ByteBuffer target, long position) throws IOException {
        int start = target.position();
        while (target.hasRemaining()) {
            if (channel.read(target, position + target.position() - start) < 0) {
                throw new InvalidArtifactException("qcow2 image is truncated");
            }
        }
    }

    @Override
    public void close() throws IOException {
        try {
            channel.close();
        } finally {
            if (ownsBacking && backing != null) {
                backing.close();
            }
        }
    }
}
