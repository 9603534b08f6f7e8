package io.cloudlet.engine.synthesis;

import io.cloudlet.engine.image.Chunks;
import io.cloudlet.engine.image.HashList;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongPredicate;

/**
 * Copies runs of base chunks into an output file inside the kernel ({@code transferTo}, which is
 * sendfile on Linux), skipping chunks the base's hash list says are zero (they are holes in the
 * output already) and chunks the caller says are written. {@code transferTo} writes at the target
 * channel's own position, so each thread gets a channel of its own on the output file.
 */
final class BaseCopier implements Closeable {

    private final FileChannel base;
    private final long baseSize;
    private final HashList baseHashes;
    private final Path output;
    private final List<FileChannel> opened = new CopyOnWriteArrayList<>();
    private final ThreadLocal<FileChannel> targets;

    BaseCopier(Path baseFile, HashList baseHashes, Path output) throws IOException {
        this.base = FileChannel.open(baseFile, StandardOpenOption.READ);
        this.baseSize = base.size();
        this.baseHashes = baseHashes;
        this.output = output;
        this.targets = ThreadLocal.withInitial(this::openTarget);
    }

    private FileChannel openTarget() {
        try {
            FileChannel channel = FileChannel.open(output, StandardOpenOption.WRITE);
            opened.add(channel);
            return channel;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Copies the base's bytes {@code [from, from+length)} to output offset {@code to}, leaving out
     * zero chunks and the chunks for which {@code skip} holds.
     */
    void copy(long from, long length, long to, LongPredicate skip) throws IOException {
        long end = Math.min(from + length, baseSize);
        long chunk = from >>> Chunks.SHIFT;
        long lastChunk = Chunks.count(end);
        while (chunk < lastChunk) {
            while (chunk < lastChunk && (baseHashes.isZero(chunk) || skip.test(chunk))) {
                chunk++;
            }
            long runStart = chunk;
            while (chunk < lastChunk && !baseHashes.isZero(chunk) && !skip.test(chunk)) {
                chunk++;
            }
            if (chunk > runStart) {
                long position = runStart << Chunks.SHIFT;
                long runEnd = Math.min(end, chunk << Chunks.SHIFT);
                transfer(position, runEnd - position, to + (position - from));
            }
        }
    }

    private void transfer(long position, long count, long targetOffset) throws IOException {
        FileChannel target;
        try {
            target = targets.get();
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        target.position(targetOffset);
        long done = 0;
        while (done < count) {
            long n = base.transferTo(position + done, count - done, target);
            if (n <= 0) {
                throw new IOException("base image shrank while being copied");
            }
            done += n;
        }
    }

    @Override
    public void close() throws IOException {
        IOException failure = null;
        for (FileChannel channel : opened) {
            try {
                channel.close();
            } catch (IOException e) {
                failure = e;
            }
        }
        base.close();
        if (failure != null) {
            throw failure;
        }
    }
}
