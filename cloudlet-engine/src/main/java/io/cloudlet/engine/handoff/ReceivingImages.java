package io.cloudlet.engine.handoff;

import io.cloudlet.engine.InvalidArtifactException;
import io.cloudlet.engine.basevm.BaseVm;
import io.cloudlet.engine.image.Chunks;
import io.cloudlet.engine.image.ImageKind;
import io.cloudlet.engine.qcow2.Qcow2Writer;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/**
 * The receiver's disk and memory, rebuilt in place over the base VM while chunks arrive, possibly
 * several times each. Memory is a raw file that starts as a sparse copy of the base's; the disk is
 * a qcow2 layer over the base disk in which a cluster is copied from the base when a chunk in it
 * first arrives, and whose metadata is written by {@link #finish}.
 */
final class ReceivingImages implements AutoCloseable {

    private static final int CHUNKS_PER_CLUSTER = Qcow2Writer.CLUSTER_SIZE / Chunks.SIZE;

    private final BaseVm base;
    private final Path diskFile;
    private final long diskChunks;
    private final long memoryChunks;
    private final FileChannel baseDisk;
    private final FileChannel baseMemory;
    private final FileChannel memory;
    private final Map<Long, Long> clusters = new HashMap<>();
    private Qcow2Writer disk;
    private FileChannel diskReader;

    /**
     * Creates the memory file as a copy of the base's and {@code diskFile} as an empty qcow2 layer
     * over the base disk, so that a VM may be defined on both before any chunk arrives.
     */
    ReceivingImages(BaseVm base, Path diskFile, Path memoryFile) throws IOException {
        this.base = base;
        this.diskFile = diskFile;
        long diskSize = base.manifest().disk().size();
        this.diskChunks = Chunks.count(diskSize);
        this.memoryChunks = Chunks.count(base.manifest().memory().size());
        try (Qcow2Writer empty = new Qcow2Writer(diskFile, base.disk(), diskSize)) {
            empty.finish();
        }
        sparseCopy(base.memory(), memoryFile);
        this.baseDisk = FileChannel.open(base.disk(), StandardOpenOption.READ);
        this.baseMemory = FileChannel.open(base.memory(), StandardOpenOption.READ);
        this.memory = FileChannel.open(memoryFile, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }

    /** Starts rewriting the disk layer: from now on it is not a valid image until {@link #finish}. */
    void open() throws IOException {
        disk = Qcow2Writer.overwrite(diskFile, base.disk(), base.manifest().disk().size());
        diskReader = FileChannel.open(diskFile, StandardOpenOption.READ);
    }

    void write(ImageKind image, long chunk, ByteBuffer content) throws IOException {
        check(image, chunk);
        if (image == ImageKind.MEMORY) {
            writeFully(memory, content, chunk << Chunks.SHIFT);
        } else {
            disk.write(content, diskOffset(chunk));
        }
    }

    /** Reads chunk {@code chunk} as the receiver holds it now. */
    void read(ImageKind image, long chunk, ByteBuffer target) throws IOException {
        check(image, chunk);
        if (image == ImageKind.MEMORY) {
            readFully(memory, target, chunk << Chunks.SHIFT);
        } else {
            Long cluster = clusters.get(chunk / CHUNKS_PER_CLUSTER);
            if (cluster == null) {
                readFully(baseDisk, target, chunk << Chunks.SHIFT);
            } else {
                readFully(diskReader, target, cluster + ((chunk % CHUNKS_PER_CLUSTER) << Chunks.SHIFT));
            }
        }
    }

    /** Reads chunk {@code chunk} of the base VM's image. */
    void readBase(ImageKind image, long chunk, ByteBuffer target) throws IOException {
        long limit = image == ImageKind.MEMORY ? Chunks.count(base.manifest().memory().size()) : diskChunks;
        if (chunk < 0 || chunk >= limit) {
            throw new InvalidArtifactException("handoff item refers to base chunk " + chunk + ", past the image's end");
        }
        readFully(image == ImageKind.MEMORY ? baseMemory : baseDisk, target, chunk << Chunks.SHIFT);
    }

    /** Completes the disk layer; both images are then what the sender's VM holds. */
    void finish() throws IOException {
        disk.finish();
        disk.close();
        disk = null;
    }

    @Override
    public void close() throws IOException {
        try (baseDisk; baseMemory; memory) {
            if (disk != null) {
                disk.close();
            }
        } finally {
            if (diskReader != null) {
                diskReader.close();
            }
        }
    }

    private long diskOffset(long chunk) throws IOException {
        long guestCluster = chunk / CHUNKS_PER_CLUSTER;
        Long cluster = clusters.get(guestCluster);
        if (cluster == null) {
            cluster = disk.allocate(guestCluster);
            ByteBuffer copy = ByteBuffer.allocate(Qcow2Writer.CLUSTER_SIZE);
            readFully(baseDisk, copy, guestCluster * Qcow2Writer.CLUSTER_SIZE);
            disk.write(copy.flip(), cluster);
            clusters.put(guestCluster, cluster);
        }
        return cluster + ((chunk % CHUNKS_PER_CLUSTER) << Chunks.SHIFT);
    }

    private void check(ImageKind image, long chunk) throws InvalidArtifactException {
        long limit = image == ImageKind.MEMORY ? memoryChunks : diskChunks;
        if (chunk < 0 || chunk >= limit) {
            throw new InvalidArtifactException("handoff item targets " + image.name().toLowerCase(java.util.Locale.ROOT)
                    + " chunk " + chunk + ", past the image's end");
        }
    }

    /** Fills {@code target}; bytes past the end of the file read as zeros. */
    private static void readFully(FileChannel channel, ByteBuffer target, long position) throws IOException {
        long at = position;
        while (target.hasRemaining()) {
            int read = channel.read(target, at);
            if (read < 0) {
                while (target.hasRemaining()) {
                    target.put((byte) 0);
                }
                return;
            }
            at += read;
        }
    }

    private static void writeFully(FileChannel channel, ByteBuffer source, long position) throws IOException {
        long at = position;
        while (source.hasRemaining()) {
            at += channel.write(source, at);
        }
    }

    private static void sparseCopy(Path from, Path to) throws IOException {
        byte[] block = new byte[1 << 20];
        try (FileChannel in = FileChannel.open(from, StandardOpenOption.READ);
             FileChannel out = FileChannel.open(to, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            long size = in.size();
            for (long position = 0; position < size; position += block.length) {
                ByteBuffer buffer = ByteBuffer.wrap(block, 0, (int) Math.min(block.length, size - position));
                readFully(in, buffer, position);
                for (int offset = 0; offset < buffer.limit(); offset += Chunks.SIZE) {
                    int length = Math.min(Chunks.SIZE, buffer.limit() - offset);
                    if (length < Chunks.SIZE || !Chunks.isZero(block, offset)) {
                        writeFully(out, ByteBuffer.wrap(block, offset, length), position + offset);
                    }
                }
            }
        }
        try (RandomAccessFile sized = new RandomAccessFile(to.toFile(), "rw")) {
            sized.setLength(Files.size(from));
        }
    }
}
