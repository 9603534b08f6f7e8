package io.cloudlet.engine;

import io.cloudlet.engine.basevm.BaseVm;
import io.cloudlet.engine.basevm.BaseVmDescription;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Generated base and launch images whose differences cover every overlay item kind. Contents come
 * from a seeded generator, so every run builds the same bytes.
 */
public final class Fixtures {

    public static final int CHUNK = 4096;

    private Fixtures() {
    }

    /** A sealed base VM: a disk of mixed text-like and random chunks with zero gaps, and memory. */
    public static BaseVm base(Path directory, int diskChunks, int memoryChunks, long seed) throws IOException {
        Files.createDirectories(directory);
        Random random = new Random(seed);
        byte[] disk = new byte[diskChunks * CHUNK];
        for (int c = 0; c < diskChunks; c++) {
            if (c % 7 != 3) {
                fillChunk(disk, c, random);
            }
        }
        byte[] memory = new byte[memoryChunks * CHUNK];
        for (int c = 0; c < memoryChunks; c++) {
            if (c % 3 != 0) {
                fillChunk(memory, c, random);
            }
        }
        Files.write(directory.resolve(BaseVm.DISK), disk);
        Files.write(directory.resolve(BaseVm.MEMORY), memory);
        Files.write(directory.resolve("device-state.bin"), ("state " + seed).getBytes());
        return BaseVm.seal(directory, new BaseVmDescription("test-base-" + seed, "pc-i440fx-7.2", "core2duo",
                "7.2.22", "<domain/>", List.of("device-state.bin")), 2);
    }

    /**
     * The launch disk and memory derived from {@code base}, with changes of every kind:
     * zeroed chunks, chunks copied from elsewhere in base disk and memory, duplicated new content,
     * partly changed chunks, new random chunks, and the disk grown by {@code extraDiskChunks}
     * (negative shrinks it).
     */
    public static Launch launch(BaseVm base, Path directory, int extraDiskChunks, long seed) throws IOException {
        Random random = new Random(seed);
        byte[] baseDisk = Files.readAllBytes(base.disk());
        byte[] baseMemory = Files.readAllBytes(base.memory());
        int diskChunks = baseDisk.length / CHUNK + extraDiskChunks;
        byte[] disk = Arrays.copyOf(baseDisk, diskChunks * CHUNK);
        byte[] memory = baseMemory.clone();
        int memoryChunks = memory.length / CHUNK;

        byte[] shared = new byte[CHUNK];
        random.nextBytes(shared);
        for (int i = 0; i < 12; i++) {
            // zero: a formerly non-zero chunk cleared
            int zeroed = 1 + i * 5;
            Arrays.fill(disk, zeroed * CHUNK, zeroed * CHUNK + CHUNK, (byte) 0);
            // base memory page copied into the disk (a file written from memory)
            copyChunk(baseMemory, 2 + i * 3 % (memoryChunks - 2), disk, 40 + i);
            // base disk chunk copied into memory (page cache of a base file)
            copyChunk(baseDisk, 100 + i, memory, 5 + i * 4);
            // one new content in several places of both images
            System.arraycopy(shared, 0, disk, (70 + i) * CHUNK, CHUNK);
            System.arraycopy(shared, 0, memory, (60 + i) * CHUNK, CHUNK);
            // partly changed chunks: a few bytes rewritten in place
            for (int k = 0; k < 40; k++) {
                disk[(120 + i) * CHUNK + random.nextInt(CHUNK)] ^= (byte) (1 + random.nextInt(255));
                memory[(90 + i) * CHUNK + random.nextInt(CHUNK)] ^= (byte) (1 + random.nextInt(255));
            }
            // new content of its own
            fillChunk(disk, 150 + i, random);
            fillChunk(memory, 110 + i, random);
            // a memory page the guest cleared
            Arrays.fill(memory, (130 + i) * CHUNK, (131 + i) * CHUNK, (byte) 0);
        }
        if (extraDiskChunks > 0) {
            for (int c = baseDisk.length / CHUNK; c < diskChunks; c += 2) {
                fillChunk(disk, c, random);
            }
        }
        Files.createDirectories(directory);
        Path diskFile = directory.resolve("launch-disk.raw");
        Path memoryFile = directory.resolve("launch-memory.raw");
        Files.write(diskFile, disk);
        Files.write(memoryFile, memory);
        return new Launch(diskFile, memoryFile);
    }

    /** Launch images on disk. */
    public record Launch(Path disk, Path memory) {
    }

    private static void fillChunk(byte[] image, int chunk, Random random) {
        int offset = chunk * CHUNK;
        if (random.nextBoolean()) {
            byte[] bytes = new byte[CHUNK];
            random.nextBytes(bytes);
            System.arraycopy(bytes, 0, image, offset, CHUNK);
        } else {
            // compressible, text-like content
            for (int i = 0; i < CHUNK; i++) {
                image[offset + i] = (byte) ('a' + (random.nextInt(8) + i / 64) % 26);
            }
        }
    }

    private static void copyChunk(byte[] from, int fromChunk, byte[] to, int toChunk) {
        System.arraycopy(from, fromChunk * CHUNK, to, toChunk * CHUNK, CHUNK);
    }
}
