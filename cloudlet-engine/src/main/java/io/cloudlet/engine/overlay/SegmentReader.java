package io.cloudlet.engine.overlay;

import io.cloudlet.engine.InvalidArtifactException;
import io.cloudlet.engine.image.Chunks;
import io.cloudlet.engine.image.ImageKind;

/**
 * Walks a decompressed segment and hands each item to a {@link Visitor}, checking every bound:
 * segments come from mobile devices and must not be trusted.
 */
public final class SegmentReader {

    /** Receives the items of a segment in order. Item indices count from 0 within the segment. */
    public interface Visitor {
        void zero(int item, ImageKind image, long chunk) throws java.io.IOException;

        void base(int item, ImageKind image, long chunk, ImageKind source, long sourceChunk) throws java.io.IOException;

        void self(int item, ImageKind image, long chunk, int earlierItem) throws java.io.IOException;

        /** The chunk's bytes are {@code data[offset..offset+4096)}. */
        void raw(int item, ImageKind image, long chunk, byte[] data, int offset) throws java.io.IOException;

        /**
         * The chunk is its base chunk at the same position with runs replaced; the runs are
         * {@code runCount} times {@code u16 offset, u16 length, bytes} starting at {@code data[offset]}.
         */
        void delta(int item, ImageKind image, long chunk, byte[] data, int offset, int runCount) throws java.io.IOException;
    }

    private SegmentReader() {
    }

    /** Visits every item of {@code data[0..length)}; returns the item count. */
    public static int read(byte[] data, int length, int segmentIndex, Visitor visitor) throws java.io.IOException {
        int position = 0;
        int item = 0;
        while (position < length) {
            need(length, position, 9, segmentIndex, item);
            ItemKind kind = ItemKind.ofCode(data[position] & 0xff);
            long target = getLong(data, position + 1);
            position += 9;
            ImageKind image = target < 0 ? ImageKind.MEMORY : ImageKind.DISK;
            long chunk = target & Long.MAX_VALUE;
            if (kind == null) {
                throw corrupt(segmentIndex, item, "unknown item kind " + (data[position - 9] & 0xff));
            }
            switch (kind) {
                case ZERO -> visitor.zero(item, image, chunk);
                case BASE_DISK, BASE_MEMORY -> {
                    need(length, position, 8, segmentIndex, item);
                    long source = getLong(data, position);
                    position += 8;
                    if (source < 0) {
                        throw corrupt(segmentIndex, item, "negative base chunk");
                    }
                    visitor.base(item, image, chunk, kind == ItemKind.BASE_MEMORY ? ImageKind.MEMORY : ImageKind.DISK,
                            source);
                }
                case SELF -> {
                    need(length, position, 4, segmentIndex, item);
                    int earlier = (int) getUnsigned(data, position, 4);
                    position += 4;
                    if (earlier >= item) {
                        throw corrupt(segmentIndex, item, "refers to item " + earlier + ", which is not earlier");
                    }
                    visitor.self(item, image, chunk, earlier);
                }
                case RAW -> {
                    need(length, position, Chunks.SIZE, segmentIndex, item);
                    visitor.raw(item, image, chunk, data, position);
                    position += Chunks.SIZE;
                }
                case DELTA -> {
                    need(length, position, 2, segmentIndex, item);
                    int runs = (int) getUnsigned(data, position, 2);
                    int start = position + 2;
                    int cursor = start;
                    for (int r = 0; r < runs; r++) {
                        need(length, cursor, 4, segmentIndex, item);
                        int offset = (int) getUnsigned(data, cursor, 2);
                        int runLength = (int) getUnsigned(data, cursor + 2, 2);
                        if (runLength == 0 || offset + runLength > Chunks.SIZE) {
                            throw corrupt(segmentIndex, item, "delta run out of the chunk");
                        }
                        cursor += 4;
                        need(length, cursor, runLength, segmentIndex, item);
                        cursor += runLength;
                    }
                    visitor.delta(item, image, chunk, data, start, runs);
                    position = cursor;
                }
                default -> throw new IllegalStateException();
            }
            item++;
        }
        return item;
    }

    private static void need(int length, int position, int bytes, int segment, int item)
            throws InvalidArtifactException {
        if (length - position < bytes) {
            throw corrupt(segment, item, "item runs past the end of the segment");
        }
    }

    private static InvalidArtifactException corrupt(int segment, int item, String what) {
        return new InvalidArtifactException("overlay segment " + segment + ", item " + item + ": " + what);
    }

    static long getLong(byte[] data, int position) {
        return getUnsigned(data, position, 8);
    }

    static long getUnsigned(byte[] data, int position, int bytes) {
        long value = 0;
        for (int i = 0; i < bytes; i++) {
            value = (value << 8) | (data[position + i] & 0xff);
        }
        return value;
    }
}
