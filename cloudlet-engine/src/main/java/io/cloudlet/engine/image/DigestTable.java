package io.cloudlet.engine.image;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * An open-addressing table from a chunk digest to a non-negative long, keyed on the digest's first
 * 8 bytes. The table does not store whole digests: the owner confirms a candidate against its own
 * digest store, so a prefix collision costs a probe, never a wrong answer. Not thread-safe.
 */
public final class DigestTable {

    /** Confirms that the entry holding {@code value} has exactly the digest at {@code digest[offset]}. */
    @FunctionalInterface
    public interface Verifier {
        boolean sameDigest(long value, byte[] digest, int offset);
    }

    private static final VarHandle LONG_VIEW =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
    private static final long EMPTY = 0;

    private long[] keys;
    private long[] values;
    private int size;
    private final Verifier verifier;

    public DigestTable(int expectedEntries, Verifier verifier) {
        int capacity = Integer.highestOneBit(Math.max(16, expectedEntries * 2 - 1)) << 1;
        this.keys = new long[capacity];
        this.values = new long[capacity];
        this.verifier = verifier;
    }

    /** The value stored for this digest, or -1. */
    public long get(byte[] digest, int offset) {
        long key = keyOf(digest, offset);
        int mask = keys.length - 1;
        for (int slot = slotOf(key, mask); keys[slot] != EMPTY; slot = (slot + 1) & mask) {
            if (keys[slot] == key && verifier.sameDigest(values[slot], digest, offset)) {
                return values[slot];
            }
        }
        return -1;
    }

    /** Stores {@code value} for this digest unless the digest is present already. */
    public void putIfAbsent(byte[] digest, int offset, long value) {
        if (value < 0) {
            throw new IllegalArgumentException("values must be non-negative");
        }
        if (get(digest, offset) >= 0) {
            return;
        }
        if ((size + 1) * 4L > keys.length * 3L) {
            grow();
        }
        insert(keyOf(digest, offset), value);
        size++;
    }

    private void insert(long key, long value) {
        int mask = keys.length - 1;
        int slot = slotOf(key, mask);
        while (keys[slot] != EMPTY) {
            slot = (slot + 1) & mask;
        }
        keys[slot] = key;
        values[slot] = value;
    }

    private void grow() {
        long[] oldKeys = keys;
        long[] oldValues = values;
        keys = new long[oldKeys.length * 2];
        values = new long[oldValues.length * 2];
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] != EMPTY) {
                insert(oldKeys[i], oldValues[i]);
            }
        }
    }

    private static long keyOf(byte[] digest, int offset) {
        long key = (long) LONG_VIEW.get(digest, offset);
        return key == EMPTY ? 1 : key;
    }

    private static int slotOf(long key, int mask) {
        // SHA-256 output is uniform already; fold the high bits in so small tables use them too.
        return (int) (key ^ (key >>> 32)) & mask;
    }
}
