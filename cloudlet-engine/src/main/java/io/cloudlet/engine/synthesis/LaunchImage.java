package io.cloudlet.engine.synthesis;

import io.cloudlet.engine.InvalidArtifactException;
import io.cloudlet.engine.image.Chunks;
import io.cloudlet.engine.image.ImageReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A launch image being rebuilt over its base, written from several threads. It is made of blocks
 * that start as "the base's content": the first chunk written into a block materialises the block
 * from the base, and only then is the chunk written over it. Each chunk is written at most once.
 */
abstract class LaunchImage implements Closeable {

    protected final ImageReader base;
    protected final long size;
    protected final int blockSize;
    private final ConcurrentHashMap<Long, Long> blocks = new ConcurrentHashMap<>();

    LaunchImage(ImageReader base, long size, int blockSize) {
        this.base = base;
        this.size = size;
        this.blockSize = blockSize;
    }

    long chunkCount() {
        return Chunks.count(size);
    }

    /** Writes a whole chunk (clipped at the image's end) from {@code data[offset..)}. */
    final void writeChunk(long chunk, byte[] data, int offset) throws IOException {
        long position = chunk << Chunks.SHIFT;
        if (chunk < 0 || position >= size) {
            throw new InvalidArtifactException("overlay item targets chunk " + chunk + ", past the image's end");
        }
        int length = (int) Math.min(Chunks.SIZE, size - position);
        write(ByteBuffer.wrap(data, offset, length), blockOffset(position / blockSize) + position % blockSize);
    }

    /** Reads back a chunk written earlier. */
    final void readChunk(long chunk, byte[] target) throws IOException {
        long position = chunk << Chunks.SHIFT;
        int length = (int) Math.min(Chunks.SIZE, size - position);
        ByteBuffer buffer = ByteBuffer.wrap(target, 0, length);
        read(buffer, blockOffset(position / blockSize) + position % blockSize);
        java.util.Arrays.fill(target, length, Chunks.SIZE, (byte) 0);
    }

    /** Where block {@code block} lives in the output, materialising it on first use. */
    protected final long blockOffset(long block) throws IOException {
        Long offset = blocks.get(block);
        if (offset != null) {
            return offset;
        }
        try {
            return blocks.computeIfAbsent(block, b -> {
                try {
                    return materialize(b);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    protected final boolean isMaterialized(long block) {
        return blocks.containsKey(block);
    }

    /** Places block {@code block} in the output with the base's content and returns its offset. */
    protected abstract long materialize(long block) throws IOException;

    protected abstract void write(ByteBuffer source, long offset) throws IOException;

    protected abstract void read(ByteBuffer target, long offset) throws IOException;

    /** Completes the image once every chunk is written; {@code threads} may be used. */
    abstract void finish(int threads) throws IOException;
}
