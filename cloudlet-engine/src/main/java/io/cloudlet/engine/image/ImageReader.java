package io.cloudlet.engine.image;

import java.io.Closeable;
import java.io.IOException;
import java.util.BitSet;

/** Random read access to a disk or memory image. Implementations are thread-safe. */
public interface ImageReader extends Closeable {

    /** The image's size in bytes. */
    long size();

    /** Fills {@code target[offset..offset+length)} from {@code position}; bytes past the end read as zero. */
    void read(long position, byte[] target, int offset, int length) throws IOException;

    /**
     * The chunks that may differ from the image this one was layered on, when the format knows
     * (a copy-on-write layer does); null means any chunk may differ.
     */
    default BitSet changedChunks() throws IOException {
        return null;
    }
}
