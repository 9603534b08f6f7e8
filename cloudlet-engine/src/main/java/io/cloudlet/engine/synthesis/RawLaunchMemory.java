package io.cloudlet.engine.synthesis;

import io.cloudlet.engine.image.Chunks;
import io.cloudlet.engine.image.ImageReader;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The launch memory as a sparse raw file the size of guest RAM, ready to be the guest's
 * file-backed memory. Regions are copied from the base on first write; {@link #finish} copies
 * the rest. Zero pages are never written, so the file stays as sparse as the guest's memory.
 */
final class RawLaunchMemory extends LaunchImage {

    static final int REGION_SIZE = 1 << 20;

    private final FileChannel channel;
    private final ThreadLocal<byte[]> regionBuffers = ThreadLocal.withInitial(() -> new byte[REGION_SIZE]);

    RawLaunchMemory(Path file, ImageReader base, long size) throws IOException {
        super(base, size, REGION_SIZE);
        Files.createFile(file);
        try (RandomAccessFile sized = new RandomAccessFile(file.toFile(), "rw")) {
            sized.setLength(size);
        }
        this.channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }

    @Override
    protected long materialize(long region) throws IOException {
        long start = region * REGION_SIZE;
        int length = (int) Math.min(REGION_SIZE, size - start);
        byte[] buffer = regionBuffers.get();
        base.read(start, buffer, 0, length);
        int run = -1;
        for (int offset = 0; offset < length; offset += Chunks.SIZE) {
            boolean zero = length - offset >= Chunks.SIZE ? Chunks.isZero(buffer, offset) : false;
            if (!zero && run < 0) {
                run = offset;
            } else if (zero && run >= 0) {
                write(ByteBuffer.wrap(buffer, run, offset - run), start + run);
                run = -1;
            }
        }
        if (run >= 0) {
            write(ByteBuffer.wrap(buffer, run, length - run), start + run);
        }
        return start;
    }

    @Override
    protected void write(ByteBuffer source, long offset) throws IOException {
        long position = offset;
        while (source.hasRemaining()) {
            position += channel.write(source, position);
        }
    }

    @Override
    protected void read(ByteBuffer target, long offset) throws IOException {
        int start = target.position();
        while (target.hasRemaining()) {
            if (channel.read(target, offset + target.position() - start) < 0) {
                throw new IOException("launch memory shorter than expected");
            }
        }
    }

    @Override
    void finish(int threads) throws IOException {
        long regions = (size + REGION_SIZE - 1) / REGION_SIZE;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Void>> stripes = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long first = t;
                stripes.add(pool.submit(() -> {
                    for (long region = first; region < regions; region += threads) {
                        if (!isMaterialized(region)) {
                            blockOffset(region);
                        }
                    }
                    return null;
                }));
            }
            for (Future<Void> stripe : stripes) {
                stripe.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while copying base memory", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
