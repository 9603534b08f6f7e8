package io.cloudlet.engine.overlay;

import io.cloudlet.engine.image.Chunks;
import io.cloudlet.engine.image.ImageKind;
import java.util.Arrays;

/**
 * Builds one segment's uncompressed item stream. Each item is {@code kind:u8, target:u64} and
 * the kind's payload; the target's top bit selects memory (1) or disk (0), the rest is the chunk.
 */
final class SegmentWriter {

    /** Runs of equal bytes shorter than this are folded into the surrounding delta run. */
    private static final int DELTA_GAP = 8;
    private static final int ITEM_HEADER = 9;

    private byte[] buffer;
    private int size;
    private int items;
    private ItemKind lastKind;

    SegmentWriter(int initialCapacity) {
        buffer = new byte[initialCapacity];
    }

    int size() {
        return size;
    }

    int items() {
        return items;
    }

    /** The kind of the item appended last. */
    ItemKind lastKind() {
        return lastKind;
    }

    byte[] buffer() {
        return buffer;
    }

    void reset() {
        size = 0;
        items = 0;
    }

    static long target(ImageKind image, long chunk) {
        return image == ImageKind.MEMORY ? chunk | Long.MIN_VALUE : chunk;
    }

    /** Appends a zero item; returns its index in the segment. */
    int zero(long target) {
        header(ItemKind.ZERO, target, 0);
        return items++;
    }

    int base(ImageKind source, long target, long sourceChunk) {
        header(source == ImageKind.MEMORY ? ItemKind.BASE_MEMORY : ItemKind.BASE_DISK, target, 8);
        putLong(sourceChunk);
        return items++;
    }

    int self(long target, int item) {
        header(ItemKind.SELF, target, 4);
        putInt(item);
        return items++;
    }

    int raw(long target, byte[] chunk, int offset) {
        header(ItemKind.RAW, target, Chunks.SIZE);
        System.arraycopy(chunk, offset, buffer, size, Chunks.SIZE);
        size += Chunks.SIZE;
        return items++;
    }

    /**
     * Appends the chunk as a delta against {@code base} if that encodes in fewer bytes than the
     * chunk itself, else as raw bytes. Returns the item's index.
     */
    int deltaOrRaw(long target, byte[] chunk, int offset, byte[] base, int baseOffset) {
        int start = size;
        header(ItemKind.DELTA, target, 2 + Chunks.SIZE);
        int runCountAt = size;
        size += 2;
        int runs = 0;
        int limit = start + ITEM_HEADER + Chunks.SIZE;
        int i = 0;
        while (i < Chunks.SIZE) {
            int mismatch = Arrays.mismatch(chunk, offset + i, offset + Chunks.SIZE,
                    base, baseOffset + i, baseOffset + Chunks.SIZE);
            if (mismatch < 0) {
                break;
            }
            int runStart = i + mismatch;
            int lastDiff = runStart;
            for (int j = runStart + 1; j < Chunks.SIZE && j - lastDiff <= DELTA_GAP; j++) {
                if (chunk[offset + j] != base[baseOffset + j]) {
                    lastDiff = j;
                }
            }
            int runLength = lastDiff + 1 - runStart;
            if (size + 4 + runLength >= limit) {
                size = start;
                return raw(target, chunk, offset);
            }
            putShort(runStart);
            putShort(runLength);
            System.arraycopy(chunk, offset + runStart, buffer, size, runLength);
            size += runLength;
            runs++;
            i = lastDiff + 1;
        }
        buffer[runCountAt] = (byte) (runs >>> 8);
        buffer[runCountAt + 1] = (byte) runs;
        return items++;
    }

    private void header(ItemKind kind, long target, int payload) {
        ensure(ITEM_HEADER + payload);
        lastKind = kind;
        buffer[size++] = (byte) kind.code();
        putLong(target);
    }

    private void ensure(int more) {
        if (size + more > buffer.length) {
            buffer = Arrays.copyOf(buffer, Math.max(buffer.length * 2, size + more));
        }
    }

    private void putLong(long value) {
        for (int shift = 56; shift >= 0; shift -= 8) {
            buffer[size++] = (byte) (value >>> shift);
        }
    }

    private void putInt(int value) {
        for (int shift = 24; shift >= 0; shift -= 8) {
            buffer[size++] = (byte) (value >>> shift);
        }
    }

    private void putShort(int value) {
        buffer[size++] = (byte) (value >>> 8);
        buffer[size++] = (byte) value;
    }
}
