package io.cloudlet.engine.basevm;

import io.cloudlet.engine.FileTrees;
import io.cloudlet.engine.InvalidArtifactException;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * A base VM as one zip: every member of the base VM directory, flat, manifest first. Import reads
 * the zip as a stream (so it can come straight from an upload), unpacks it into a scratch directory
 * beside the store, verifies every digest and only then moves it into place under its base id.
 */
public final class BaseVmPackage {

    private BaseVmPackage() {
    }

    /** Writes {@code base} as a package at {@code target}; the file appears only when complete. */
    public static void export(BaseVm base, Path target) throws IOException {
        Path partial = target.resolveSibling(target.getFileName() + ".partial");
        try (OutputStream file = new BufferedOutputStream(Files.newOutputStream(partial), 1 << 16);
             ZipOutputStream zip = new ZipOutputStream(file)) {
            // Images are mostly zeros or already dense; the fastest level gets nearly all the gain.
            zip.setLevel(Deflater.BEST_SPEED);
            for (String name : base.memberNames()) {
                zip.putNextEntry(new ZipEntry(name));
                Files.copy(base.directory().resolve(name), zip);
                zip.closeEntry();
            }
        } catch (IOException | RuntimeException e) {
            FileTrees.deleteQuietly(partial, e);
            throw e;
        }
        Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Imports a package file into {@code store}; see {@link #importFrom(InputStream, Path, int)}. */
    public static BaseVm importFile(Path packageFile, Path store, int threads) throws IOException {
        try (InputStream in = Files.newInputStream(packageFile)) {
            return importFrom(in, store, threads);
        }
    }

    /**
     * Imports a package into {@code store/<baseId>}. Rejects unsafe or unexpected member names,
     * missing members and any digest mismatch, leaving nothing behind. Importing a base VM that is
     * present already returns the present one.
     */
    public static BaseVm importFrom(InputStream packageStream, Path store, int threads) throws IOException {
        Files.createDirectories(store);
        Path scratch = store.resolve(".import-" + UUID.randomUUID());
        Files.createDirectory(scratch);
        try {
            Set<String> members = unpack(packageStream, scratch);
            if (!members.contains(BaseVm.MANIFEST)) {
                throw new InvalidArtifactException("base VM package has no " + BaseVm.MANIFEST);
            }
            Set<String> expected = new HashSet<>(BaseVm.memberNames(BaseVm.readManifest(scratch)));
            for (String name : expected) {
                if (!members.contains(name)) {
                    throw new InvalidArtifactException("base VM package lacks member " + name);
                }
            }
            for (String name : members) {
                if (!expected.contains(name)) {
                    throw new InvalidArtifactException("base VM package has unexpected member " + name);
                }
            }
            BaseVm unpacked = BaseVm.open(scratch);
            unpacked.verify(threads);
            Path target = store.resolve(unpacked.baseId());
            if (!Files.exists(target)) {
                try {
                    Files.move(scratch, target, StandardCopyOption.ATOMIC_MOVE);
                } catch (FileSystemException raced) {
                    if (!Files.exists(target.resolve(BaseVm.MANIFEST))) {
                        throw raced;
                    }
                }
            }
            FileTrees.deleteRecursively(scratch);
            return BaseVm.open(target);
        } catch (IOException | RuntimeException e) {
            FileTrees.deleteQuietly(scratch, e);
            throw e;
        }
    }

    private static Set<String> unpack(InputStream packageStream, Path scratch) throws IOException {
        Set<String> names = new HashSet<>();
        try (ZipInputStream zip = new ZipInputStream(packageStream)) {
            for (ZipEntry entry; (entry = zip.getNextEntry()) != null; ) {
                String name = entry.getName();
                if (entry.isDirectory() || !BaseVm.SAFE_NAME.matcher(name).matches()) {
                    throw new InvalidArtifactException("base VM package member '" + name
                            + "' is not a plain file name (directories and paths such as ../ are refused)");
                }
                if (!names.add(name)) {
                    throw new InvalidArtifactException("base VM package has member " + name + " twice");
                }
                Files.copy(zip, scratch.resolve(name));
            }
        } catch (ZipException e) {
            throw new InvalidArtifactException("base VM package is not a valid zip: " + e.getMessage(), e);
        } catch (java.io.EOFException e) {
            throw new InvalidArtifactException("base VM package is truncated", e);
        }
        if (names.isEmpty()) {
            throw new InvalidArtifactException("base VM package is empty or not a zip");
        }
        return names;
    }
}
