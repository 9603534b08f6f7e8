package io.cloudlet.engine.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/** A raw image file, read with positional reads. */
public final class RawImageReader implements ImageReader {

    private final FileChannel channel;
    private final long size;

    public RawImageReader(Path file) throws IOException {
        this.channel = FileChannel.open(file, StandardOpenOption.READ);
        this.size = channel.size();
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public void read(long position, byte[] target, int offset, int length) throws IOException {
        int inside = (int) Math.max(0, Math.min(length, size - position));
        ByteBuffer buffer = ByteBuffer.wrap(target, offset, inside);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, position + buffer.position() - offset) < 0) {
                throw new IOException("image shrank while being read");
            }
        }
        Arrays.fill(target, offset + inside, offset + length, (byte) 0);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
