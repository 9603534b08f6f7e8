package io.cloudlet.engine.synthesis;

import io.cloudlet.engine.InvalidArtifactException;
import io.cloudlet.engine.image.Chunks;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A launch image being rebuilt over its base, written from several threads. Overlay items are
 * written straight to their final place and marked in a bitmap; {@link #finish} then fills in,
 * from the base, only the chunks no item wrote. Every byte of the output is written once.
 */
abstract class LaunchImage implements Closeable {

    protected final long size;
    private final long chunks;
    private final AtomicLongArray written;

    LaunchImage(long size) {
        this.size = size;
        this.chunks = Chunks.count(size);
        this.written = new AtomicLongArray((int) ((chunks + 63) / 64));
    }

    long chunkCount() {
        return chunks;
    }

    /** Chunks per allocation unit: a run of chunks written at once must stay inside one unit. */
    abstract int chunksPerUnit();

    /** The output file offset of {@code chunk}, allocating its unit if needed. */
    protected abstract long hostOffset(long chunk) throws IOException;

    protected abstract void write(ByteBuffer source, long offset) throws IOException;

    /** Fills every chunk that no item wrote from the base, using up to {@code threads} threads. */
    abstract void finish(int threads) throws IOException;

    /**
     * Writes {@code count} consecutive chunks starting at {@code first}, all in one allocation unit,
     * from {@code data[offset..)}; the last chunk of the image is clipped at its end.
     */
    final void writeChunks(long first, int count, byte[] data, int offset) throws IOException {
        long last = first + count - 1;
        if (first < 0 || last >= chunks) {
            throw new InvalidArtifactException("overlay item targets chunk " + last + ", past the image's end");
        }
        long position = first << Chunks.SHIFT;
        int length = (int) Math.min((long) count << Chunks.SHIFT, size - position);
        write(ByteBuffer.wrap(data, offset, length), hostOffset(first));
        for (long chunk = first; chunk <= last; chunk++) {
            long bit = 1L << (chunk & 63);
            int word = (int) (chunk >>> 6);
            long old = written.getAndAccumulate(word, bit, (a, b) -> a | b);
            if ((old & bit) != 0) {
                throw new InvalidArtifactException("overlay writes chunk " + chunk + " twice");
            }
        }
    }

    final boolean isWritten(long chunk) {
        return chunk < chunks && (written.get((int) (chunk >>> 6)) & (1L << (chunk & 63))) != 0;
    }
}
