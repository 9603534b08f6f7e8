package io.cloudlet.engine.basevm;

import io.cloudlet.engine.InvalidArtifactException;
import io.cloudlet.engine.Json;
import io.cloudlet.engine.image.Chunks;
import io.cloudlet.engine.image.HashList;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A sealed base VM in a directory of its own:
 * {@code manifest.json, disk.raw, disk.hashes, memory.raw, memory.hashes} and any attachments.
 * Sealing writes the hash lists and then the manifest, so a directory without a manifest is
 * never mistaken for a base VM. The images are read-only from then on: instances copy-on-write.
 */
public final class BaseVm {

    public static final String MANIFEST = "manifest.json";
    public static final String DISK = "disk.raw";
    public static final String DISK_HASHES = "disk.hashes";
    public static final String MEMORY = "memory.raw";
    public static final String MEMORY_HASHES = "memory.hashes";

    /** Names a member may have: one plain file name, no separators, no leading dot. */
    static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private final Path directory;
    private final BaseVmManifest manifest;
    private volatile HashList diskHashes;
    private volatile HashList memoryHashes;

    private BaseVm(Path directory, BaseVmManifest manifest) {
        this.directory = directory;
        this.manifest = manifest;
    }

    /**
     * Seals the base VM whose {@code disk.raw}, {@code memory.raw} and named attachments are already
     * in {@code directory}: hashes both images on {@code threads} threads and writes the manifest.
     */
    public static BaseVm seal(Path directory, BaseVmDescription description, int threads) throws IOException {
        for (String name : description.attachments()) {
            checkAttachmentName(name);
        }
        Path disk = requireFile(directory, DISK);
        Path memory = requireFile(directory, MEMORY);
        HashList diskHashes = HashList.compute(disk, threads);
        HashList memoryHashes = HashList.compute(memory, threads);
        diskHashes.write(directory.resolve(DISK_HASHES));
        memoryHashes.write(directory.resolve(MEMORY_HASHES));

        List<BaseVmManifest.Attachment> attachments = new ArrayList<>();
        for (String name : description.attachments()) {
            Path file = requireFile(directory, name);
            attachments.add(new BaseVmManifest.Attachment(name, Files.size(file), sha256Hex(file)));
        }
        BaseVmManifest.Image diskImage = new BaseVmManifest.Image(Files.size(disk), diskHashes.listDigest());
        BaseVmManifest.Image memoryImage = new BaseVmManifest.Image(Files.size(memory), memoryHashes.listDigest());
        BaseVmManifest manifest = new BaseVmManifest(BaseVmManifest.FORMAT_VERSION,
                baseIdOf(diskImage, memoryImage), description.name(), Instant.now(), diskImage, memoryImage,
                description.machineType(), description.cpuModel(), description.emulatorVersion(),
                description.vmTemplate(), attachments);

        Path partial = directory.resolve(MANIFEST + ".partial");
        Json.mapper().writeValue(partial.toFile(), manifest);
        Files.move(partial, directory.resolve(MANIFEST), StandardCopyOption.ATOMIC_MOVE);
        BaseVm base = new BaseVm(directory, manifest);
        base.diskHashes = diskHashes;
        base.memoryHashes = memoryHashes;
        return base;
    }

    /** Opens a sealed base VM, checking that its files are present with the recorded sizes. */
    public static BaseVm open(Path directory) throws IOException {
        BaseVmManifest manifest = readManifest(directory);
        checkSize(directory, DISK, manifest.disk().size());
        checkSize(directory, MEMORY, manifest.memory().size());
        checkSize(directory, DISK_HASHES, Chunks.count(manifest.disk().size()) * Chunks.DIGEST_LENGTH);
        checkSize(directory, MEMORY_HASHES, Chunks.count(manifest.memory().size()) * Chunks.DIGEST_LENGTH);
        for (BaseVmManifest.Attachment attachment : manifest.attachments()) {
            checkSize(directory, attachment.name(), attachment.size());
        }
        return new BaseVm(directory, manifest);
    }

    /** Reads and checks the manifest alone. */
    static BaseVmManifest readManifest(Path directory) throws IOException {
        Path manifestFile = directory.resolve(MANIFEST);
        BaseVmManifest manifest;
        try {
            manifest = Json.mapper().readValue(manifestFile.toFile(), BaseVmManifest.class);
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            throw new InvalidArtifactException("no base VM at " + directory + ": " + MANIFEST + " is missing");
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new InvalidArtifactException("base VM manifest is not valid: " + e.getOriginalMessage(), e);
        }
        if (manifest.formatVersion() != BaseVmManifest.FORMAT_VERSION) {
            throw new InvalidArtifactException("base VM manifest has format version " + manifest.formatVersion()
                    + "; this engine reads version " + BaseVmManifest.FORMAT_VERSION);
        }
        if (manifest.baseId() == null || manifest.disk() == null || manifest.memory() == null) {
            throw new InvalidArtifactException("base VM manifest lacks baseId, disk or memory");
        }
        for (BaseVmManifest.Attachment attachment : manifest.attachments()) {
            checkAttachmentName(attachment.name());
        }
        return manifest;
    }

    /**
     * Recomputes every digest (each chunk of both images, the hash lists, the attachments and the
     * base id) and fails on the first disagreement with what the manifest and hash lists say.
     */
    public void verify(int threads) throws IOException {
        String expectedId = baseIdOf(manifest.disk(), manifest.memory());
        if (!expectedId.equals(manifest.baseId())) {
            throw new InvalidArtifactException("base id " + manifest.baseId()
                    + " does not match the manifest's images (expected " + expectedId + ")");
        }
        verifyImage(DISK, diskHashes(), manifest.disk(), threads);
        verifyImage(MEMORY, memoryHashes(), manifest.memory(), threads);
        for (BaseVmManifest.Attachment attachment : manifest.attachments()) {
            String actual = sha256Hex(directory.resolve(attachment.name()));
            if (!actual.equals(attachment.sha256())) {
                throw new InvalidArtifactException("attachment " + attachment.name() + " is corrupt: SHA-256 "
                        + actual + ", manifest says " + attachment.sha256());
            }
        }
    }

    private void verifyImage(String name, HashList recorded, BaseVmManifest.Image image, int threads)
            throws IOException {
        if (!recorded.listDigest().equals(image.hashListDigest())) {
            throw new InvalidArtifactException("hash list of " + name + " does not match the manifest");
        }
        long mismatch = HashList.compute(directory.resolve(name), threads).firstMismatch(recorded);
        if (mismatch >= 0) {
            throw new InvalidArtifactException(name + " is corrupt: chunk " + mismatch + " (offset "
                    + (mismatch << Chunks.SHIFT) + ") does not match its hash");
        }
    }

    /** The base id: SHA-256 of both images' sizes and hash list digests. */
    public static String baseIdOf(BaseVmManifest.Image disk, BaseVmManifest.Image memory) {
        String text = "cloudlet-base-v1\n" + disk.size() + "\n" + disk.hashListDigest() + "\n"
                + memory.size() + "\n" + memory.hashListDigest() + "\n";
        return HexFormat.of().formatHex(io.cloudlet.engine.image.Chunks.sha256()
                .digest(text.getBytes(StandardCharsets.US_ASCII)));
    }

    public Path directory() {
        return directory;
    }

    public BaseVmManifest manifest() {
        return manifest;
    }

    public String baseId() {
        return manifest.baseId();
    }

    public Path disk() {
        return directory.resolve(DISK);
    }

    public Path memory() {
        return directory.resolve(MEMORY);
    }

    public Path attachment(String name) throws InvalidArtifactException {
        for (BaseVmManifest.Attachment attachment : manifest.attachments()) {
            if (attachment.name().equals(name)) {
                return directory.resolve(name);
            }
        }
        throw new InvalidArtifactException("base VM " + manifest.name() + " has no attachment " + name);
    }

    public HashList diskHashes() throws IOException {
        HashList hashes = diskHashes;
        if (hashes == null) {
            hashes = HashList.read(directory.resolve(DISK_HASHES), manifest.disk().size());
            diskHashes = hashes;
        }
        return hashes;
    }

    public HashList memoryHashes() throws IOException {
        HashList hashes = memoryHashes;
        if (hashes == null) {
            hashes = HashList.read(directory.resolve(MEMORY_HASHES), manifest.memory().size());
            memoryHashes = hashes;
        }
        return hashes;
    }

    /** Every file name that belongs to this base VM. */
    List<String> memberNames() {
        return memberNames(manifest);
    }

    static List<String> memberNames(BaseVmManifest manifest) {
        List<String> names = new ArrayList<>(List.of(MANIFEST, DISK_HASHES, MEMORY_HASHES));
        manifest.attachments().forEach(a -> names.add(a.name()));
        names.add(DISK);
        names.add(MEMORY);
        return names;
    }

    static void checkAttachmentName(String name) throws InvalidArtifactException {
        if (name == null || !SAFE_NAME.matcher(name).matches()
                || List.of(MANIFEST, DISK, DISK_HASHES, MEMORY, MEMORY_HASHES).contains(name)) {
            throw new InvalidArtifactException("'" + name + "' is not a valid attachment name");
        }
    }

    private static Path requireFile(Path directory, String name) throws InvalidArtifactException {
        Path file = directory.resolve(name);
        if (!Files.isRegularFile(file)) {
            throw new InvalidArtifactException("base VM at " + directory + " has no " + name);
        }
        return file;
    }

    private static void checkSize(Path directory, String name, long expected) throws IOException {
        Path file = requireFile(directory, name);
        long actual = Files.size(file);
        if (actual != expected) {
            throw new InvalidArtifactException("base VM " + name + " has " + actual + " bytes; expected " + expected);
        }
    }

    static String sha256Hex(Path file) throws IOException {
        MessageDigest sha = Chunks.sha256();
        byte[] buffer = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buffer)) > 0; ) {
                sha.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }
}
