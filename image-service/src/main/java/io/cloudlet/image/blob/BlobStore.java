package io.cloudlet.image.blob;

import io.cloudlet.engine.FileTrees;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.zip.CRC32;

/**
 * Files stored under the SHA-256 of their content ({@code blobs/ab/abcdef...}). A blob appears
 * only complete: content is written to {@code staging/} and moved into place atomically, so a
 * crash leaves at most a staging file, which {@link #clearStaging()} removes at start-up.
 */
public final class BlobStore {

    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    private final Path blobs;
    private final Path staging;

    public BlobStore(Path root) {
        this.blobs = root.resolve("blobs");
        this.staging = root.resolve("staging");
        try {
            Files.createDirectories(blobs);
            Files.createDirectories(staging);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the blob store at " + root, e);
        }
    }

    /** What was stored: content digest, size and CRC-32 (for zip entries written without compression). */
    public record Blob(String sha256, long size, long crc32) {
    }

    /** A fresh scratch path in the staging directory, on the same file system as the blobs. */
    public Path stagingPath(String what) {
        return staging.resolve(what + "-" + UUID.randomUUID());
    }

    /** Streams {@code in} into the store. */
    public Blob put(InputStream in) throws IOException {
        Path scratch = stagingPath("upload");
        try {
            try (OutputStream out = Files.newOutputStream(scratch)) {
                in.transferTo(out);
            }
            return adopt(scratch);
        } finally {
            Files.deleteIfExists(scratch);
        }
    }

    /** Moves the file at {@code file} (in the staging directory) into the store under its digest. */
    public Blob adopt(Path file) throws IOException {
        MessageDigest digest = sha256();
        CRC32 crc = new CRC32();
        long size = 0;
        byte[] buffer = new byte[1 << 20];
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), digest)) {
            for (int n; (n = in.read(buffer)) > 0; ) {
                crc.update(buffer, 0, n);
                size += n;
            }
        }
        String sha = HexFormat.of().formatHex(digest.digest());
        Path target = path(sha);
        Files.createDirectories(target.getParent());
        if (Files.exists(target)) {
            Files.delete(file);
        } else {
            try {
                Files.move(file, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException raced) {
                Files.delete(file);
            }
        }
        return new Blob(sha, size, crc.getValue());
    }

    /** The file holding blob {@code sha256}. */
    public Path path(String sha256) {
        if (!SHA256.matcher(sha256).matches()) {
            throw new IllegalArgumentException("not a SHA-256: " + sha256);
        }
        return blobs.resolve(sha256.substring(0, 2)).resolve(sha256);
    }

    public boolean contains(String sha256) {
        return Files.isRegularFile(path(sha256));
    }

    /** Removes blob {@code sha256}; the caller makes sure nothing refers to it any more. */
    public void delete(String sha256) throws IOException {
        Files.deleteIfExists(path(sha256));
    }

    /** Removes what interrupted uploads and imports left in the staging directory. */
    public void clearStaging() throws IOException {
        try (var stale = Files.list(staging)) {
            for (Path path : (Iterable<Path>) stale::iterator) {
                FileTrees.deleteRecursively(path);
            }
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
