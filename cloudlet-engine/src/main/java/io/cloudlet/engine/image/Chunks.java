package io.cloudlet.engine.image;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * The unit of comparison everywhere: 4 KiB, the x86 page size and a common file system block.
 * A final partial chunk of an image behaves as if padded with zeros.
 */
public final class Chunks {

    public static final int SIZE = 4096;
    public static final int SHIFT = 12;
    public static final int DIGEST_LENGTH = 32;

    private static final byte[] ZERO = new byte[SIZE];
    private static final byte[] ZERO_DIGEST = sha256().digest(ZERO);

    private Chunks() {
    }

    public static long count(long imageSize) {
        return (imageSize + SIZE - 1) >>> SHIFT;
    }

    public static boolean isZero(byte[] buffer, int offset) {
        return Arrays.mismatch(buffer, offset, offset + SIZE, ZERO, 0, SIZE) < 0;
    }

    /** The SHA-256 of an all-zero chunk. Callers must not modify the array. */
    static byte[] zeroDigest() {
        return ZERO_DIGEST;
    }

    public static boolean isZeroDigest(byte[] digests, int offset) {
        return Arrays.mismatch(digests, offset, offset + DIGEST_LENGTH, ZERO_DIGEST, 0, DIGEST_LENGTH) < 0;
    }

    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime provides SHA-256", e);
        }
    }
}
