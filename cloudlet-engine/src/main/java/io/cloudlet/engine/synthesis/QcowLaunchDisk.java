package io.cloudlet.engine.synthesis;

import io.cloudlet.engine.image.ImageReader;
import io.cloudlet.engine.qcow2.Qcow2Writer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The launch disk as a qcow2 layer over the raw base disk: only the clusters that hold changed
 * chunks are written, each first filled from the base (copy-on-write at cluster granularity).
 */
final class QcowLaunchDisk extends LaunchImage {

    private static final byte[] ZERO_CLUSTER = new byte[Qcow2Writer.CLUSTER_SIZE];

    private final Qcow2Writer writer;

    QcowLaunchDisk(Path file, Path baseDisk, ImageReader base, long size) throws IOException {
        super(base, size, Qcow2Writer.CLUSTER_SIZE);
        this.writer = new Qcow2Writer(file, baseDisk, size);
    }

    @Override
    protected long materialize(long cluster) throws IOException {
        long offset = writer.allocate(cluster);
        byte[] content = new byte[blockSize];
        base.read(cluster * blockSize, content, 0, blockSize);
        // A fresh cluster past the end of the file reads as zeros already.
        if (Arrays.mismatch(content, ZERO_CLUSTER) >= 0) {
            writer.write(ByteBuffer.wrap(content), offset);
        }
        return offset;
    }

    @Override
    protected void write(ByteBuffer source, long offset) throws IOException {
        writer.write(source, offset);
    }

    @Override
    protected void read(ByteBuffer target, long offset) throws IOException {
        writer.read(target, offset);
    }

    @Override
    void finish(int threads) throws IOException {
        writer.finish();
    }

    @Override
    public void close() throws IOException {
        writer.close();
    }
}
