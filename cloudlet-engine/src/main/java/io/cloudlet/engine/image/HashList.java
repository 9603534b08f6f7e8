package io.cloudlet.engine.image;

import io.cloudlet.engine.Concurrency;
import io.cloudlet.engine.InvalidArtifactException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * The SHA-256 of every 4 KiB chunk of an image, in chunk order. On disk it is the bare
 * concatenation of the 32-byte digests; its own SHA-256 (the list digest) names the image's
 * content compactly. Held in one array, which bounds an image to 256 GiB.
 */
public final class HashList {

    private static final int READ_BLOCK = 1 << 20;
    private static final long MAX_CHUNKS = Integer.MAX_VALUE / Chunks.DIGEST_LENGTH;

    private final byte[] digests;

    private HashList(byte[] digests) {
        this.digests = digests;
    }

    /** Hashes every chunk of {@code image}, splitting the work over {@code threads} threads. */
    public static HashList compute(Path image, int threads) throws IOException {
        long size = Files.size(image);
        int chunks = checkedChunkCount(size);
        byte[] digests = new byte[chunks * Chunks.DIGEST_LENGTH];
        int parts = Math.max(1, Math.min(threads, chunks / 256 + 1));
        int per = (chunks + parts - 1) / parts;
        try (FileChannel channel = FileChannel.open(image, StandardOpenOption.READ)) {
            Concurrency.forEach(parts, parts, part -> {
                int from = (int) part * per;
                hashRange(channel, size, from, Math.min(chunks, from + per), digests);
            });
        }
        return new HashList(digests);
    }

    private static void hashRange(FileChannel channel, long size, int from, int to, byte[] digests)
            throws IOException {
        MessageDigest sha = Chunks.sha256();
        ByteBuffer buffer = ByteBuffer.allocateDirect(READ_BLOCK);
        long position = (long) from << Chunks.SHIFT;
        long end = Math.min(size, (long) to << Chunks.SHIFT);
        int chunk = from;
        while (position < end) {
            buffer.clear().limit((int) Math.min(READ_BLOCK, end - position));
            while (buffer.hasRemaining()) {
                if (channel.read(buffer, position + buffer.position()) < 0) {
                    throw new IOException("image shrank while being hashed");
                }
            }
            int filled = buffer.position();
            if (filled % Chunks.SIZE != 0) {
                int padded = (filled + Chunks.SIZE - 1) & -Chunks.SIZE;
                buffer.limit(padded);
                while (buffer.hasRemaining()) {
                    buffer.put((byte) 0);
                }
                filled = padded;
            }
            for (int offset = 0; offset < filled; offset += Chunks.SIZE) {
                sha.update(buffer.slice(offset, Chunks.SIZE));
                try {
                    sha.digest(digests, chunk * Chunks.DIGEST_LENGTH, Chunks.DIGEST_LENGTH);
                } catch (java.security.DigestException e) {
                    throw new IllegalStateException(e);
                }
                chunk++;
            }
            position += READ_BLOCK;
        }
    }

    /** Reads a hash list written by {@link #write}, checking it fits an image of {@code imageSize}. */
    public static HashList read(Path file, long imageSize) throws IOException {
        long expected = (long) checkedChunkCount(imageSize) * Chunks.DIGEST_LENGTH;
        long actual = Files.size(file);
        if (actual != expected) {
            throw new InvalidArtifactException("hash list " + file.getFileName() + " has " + actual
                    + " bytes, but an image of " + imageSize + " bytes needs " + expected);
        }
        return new HashList(Files.readAllBytes(file));
    }

    public void write(Path file) throws IOException {
        Files.write(file, digests);
    }

    public int chunkCount() {
        return digests.length / Chunks.DIGEST_LENGTH;
    }

    /** True if chunk {@code chunk} of this list has the digest at {@code digest[offset..+32)}. */
    public boolean matches(long chunk, byte[] digest, int offset) {
        if (chunk < 0 || chunk >= chunkCount()) {
            return false;
        }
        int from = (int) chunk * Chunks.DIGEST_LENGTH;
        return Arrays.mismatch(digests, from, from + Chunks.DIGEST_LENGTH,
                digest, offset, offset + Chunks.DIGEST_LENGTH) < 0;
    }

    /** Copies chunk {@code chunk}'s digest; past the end of the image that is the zero chunk's. */
    public void copyDigest(long chunk, byte[] target, int offset) {
        if (chunk < chunkCount()) {
            System.arraycopy(digests, (int) chunk * Chunks.DIGEST_LENGTH, target, offset, Chunks.DIGEST_LENGTH);
        } else {
            System.arraycopy(Chunks.zeroDigest(), 0, target, offset, Chunks.DIGEST_LENGTH);
        }
    }

    /** True if chunk {@code chunk} is all zeros (or past the image's end). */
    public boolean isZero(long chunk) {
        return chunk >= chunkCount() || Chunks.isZeroDigest(digests, (int) chunk * Chunks.DIGEST_LENGTH);
    }

    /** Index of the first chunk whose digest differs from {@code other}'s, or -1 if equal. */
    public long firstMismatch(HashList other) {
        int mismatch = Arrays.mismatch(digests, other.digests);
        return mismatch < 0 ? -1 : mismatch / Chunks.DIGEST_LENGTH;
    }

    /** The SHA-256 of the whole list, in lower-case hex. */
    public String listDigest() {
        return listDigestOf(digests);
    }

    /** The list digest of concatenated chunk digests held by the caller, without copying them. */
    public static String listDigestOf(byte[] digests) {
        return HexFormat.of().formatHex(Chunks.sha256().digest(digests));
    }

    /** Writes the zero chunk's digest at {@code target[offset]}. */
    public static void zeroDigestInto(byte[] target, int offset) {
        System.arraycopy(Chunks.zeroDigest(), 0, target, offset, Chunks.DIGEST_LENGTH);
    }

    byte[] digests() {
        return digests;
    }

    static int checkedChunkCount(long imageSize) throws InvalidArtifactException {
        long chunks = Chunks.count(imageSize);
        if (chunks > MAX_CHUNKS) {
            throw new InvalidArtifactException("image of " + imageSize + " bytes exceeds the 256 GiB limit");
        }
        return (int) chunks;
    }
}
