package io.cloudlet.engine.synthesis;

import io.cloudlet.engine.Concurrency;
import io.cloudlet.engine.image.Chunks;
import io.cloudlet.engine.image.HashList;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The launch memory as a sparse raw file the size of guest RAM, ready to be the guest's
 * file-backed memory. Zero pages are never written, so the file stays as sparse as the guest's
 * memory; {@link #finish} copies the base's non-zero pages that no item replaced.
 */
final class RawLaunchMemory extends LaunchImage {

    private static final int FILL_REGION = 8 << 20;

    private final FileChannel channel;
    private final BaseCopier copier;

    RawLaunchMemory(Path file, Path baseFile, HashList baseHashes, long size) throws IOException {
        super(size);
        Files.createFile(file);
        try (RandomAccessFile sized = new RandomAccessFile(file.toFile(), "rw")) {
            sized.setLength(size);
        }
        this.channel = FileChannel.open(file, StandardOpenOption.WRITE);
        this.copier = new BaseCopier(baseFile, baseHashes, file);
    }

    @Override
    int chunksPerUnit() {
        return Integer.MAX_VALUE;
    }

    @Override
    protected long hostOffset(long chunk) {
        return chunk << Chunks.SHIFT;
    }

    @Override
    protected void write(ByteBuffer source, long offset) throws IOException {
        long position = offset;
        while (source.hasRemaining()) {
            position += channel.write(source, position);
        }
    }

    @Override
    void finish(int threads) throws IOException {
        long regions = (size + FILL_REGION - 1) / FILL_REGION;
        Concurrency.forEach(regions, threads, region -> {
            long start = region * FILL_REGION;
            copier.copy(start, Math.min(FILL_REGION, size - start), start, this::isWritten);
        });
    }

    @Override
    public void close() throws IOException {
        try (copier) {
            channel.close();
        }
    }
}
