package io.cloudlet.engine.image;

import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * A raw image mapped into memory read-only, for many small random reads (4 KiB base chunks during
 * synthesis) without a system call each. Mapped in 1 GiB windows, so any image size works.
 */
public final class MappedImageReader implements ImageReader {

    private static final int WINDOW_BITS = 30;
    private static final long WINDOW = 1L << WINDOW_BITS;

    private final long size;
    private final MappedByteBuffer[] windows;

    public MappedImageReader(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            this.size = channel.size();
            int count = (int) ((size + WINDOW - 1) >>> WINDOW_BITS);
            this.windows = new MappedByteBuffer[count];
            for (int i = 0; i < count; i++) {
                long start = (long) i << WINDOW_BITS;
                windows[i] = channel.map(FileChannel.MapMode.READ_ONLY, start, Math.min(WINDOW, size - start));
            }
        }
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public void read(long position, byte[] target, int offset, int length) {
        int done = 0;
        while (done < length && position + done < size) {
            long at = position + done;
            MappedByteBuffer window = windows[(int) (at >>> WINDOW_BITS)];
            int inWindow = (int) (at & (WINDOW - 1));
            int piece = (int) Math.min(length - done, window.capacity() - inWindow);
            window.get(inWindow, target, offset + done, piece);
            done += piece;
        }
        Arrays.fill(target, offset + done, offset + length, (byte) 0);
    }

    /** The mapping is released when the reader is garbage collected; closing only forgets it. */
    @Override
    public void close() {
        Arrays.fill(windows, null);
    }
}
