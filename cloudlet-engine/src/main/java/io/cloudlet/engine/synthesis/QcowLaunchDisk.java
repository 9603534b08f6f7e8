package io.cloudlet.engine.synthesis;

import io.cloudlet.engine.Concurrency;
import io.cloudlet.engine.image.Chunks;
import io.cloudlet.engine.image.HashList;
import io.cloudlet.engine.qcow2.Qcow2Writer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The launch disk as a qcow2 layer over the raw base disk: only clusters that hold changed chunks
 * are allocated. A fresh cluster is a hole in the file; items are written into it as they come,
 * and {@link #finish} copies the rest of each allocated cluster from the base (copy-on-write at
 * cluster granularity) before the qcow2 metadata is written.
 */
final class QcowLaunchDisk extends LaunchImage {

    private static final int CHUNKS_PER_CLUSTER = Qcow2Writer.CLUSTER_SIZE / Chunks.SIZE;

    private final Qcow2Writer writer;
    private final BaseCopier copier;
    private final ConcurrentHashMap<Long, Long> clusters = new ConcurrentHashMap<>();

    QcowLaunchDisk(Path file, Path baseDisk, HashList baseHashes, long size) throws IOException {
        super(size);
        this.writer = new Qcow2Writer(file, baseDisk, size);
        this.copier = new BaseCopier(baseDisk, baseHashes, file);
    }

    @Override
    int chunksPerUnit() {
        return CHUNKS_PER_CLUSTER;
    }

    @Override
    protected long hostOffset(long chunk) {
        long cluster = chunk / CHUNKS_PER_CLUSTER;
        long offset = clusters.computeIfAbsent(cluster, writer::allocate);
        return offset + ((chunk % CHUNKS_PER_CLUSTER) << Chunks.SHIFT);
    }

    @Override
    protected void write(ByteBuffer source, long offset) throws IOException {
        writer.write(source, offset);
    }

    @Override
    void finish(int threads) throws IOException {
        Long[] allocated = clusters.keySet().toArray(new Long[0]);
        Concurrency.forEach(allocated.length, threads, i -> {
            long cluster = allocated[(int) i];
            copier.copy(cluster * Qcow2Writer.CLUSTER_SIZE, Qcow2Writer.CLUSTER_SIZE, clusters.get(cluster),
                    this::isWritten);
        });
        writer.finish();
    }

    @Override
    public void close() throws IOException {
        try (copier) {
            writer.close();
        }
    }
}
