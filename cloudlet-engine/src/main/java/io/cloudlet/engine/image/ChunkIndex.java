package io.cloudlet.engine.image;

/**
 * Finds a chunk's content anywhere in a base VM: in its disk or its memory. Built from the two
 * hash lists; zero chunks are left out (an overlay encodes them as zero items).
 */
public final class ChunkIndex {

    /** A base location: the image and the chunk number within it. */
    public record Location(ImageKind image, long chunk) {
    }

    private static final long MEMORY_FLAG = 1L << 62;

    private final HashList disk;
    private final HashList memory;
    private final DigestTable table;

    public ChunkIndex(HashList disk, HashList memory) {
        this.disk = disk;
        this.memory = memory;
        this.table = new DigestTable(disk.chunkCount() / 2 + memory.chunkCount() / 2, this::confirm);
        // Memory first: a page found in both is then referenced from memory, which tends to be
        // smaller and hotter in the page cache than the disk.
        add(memory, MEMORY_FLAG);
        add(disk, 0);
    }

    private void add(HashList list, long flag) {
        byte[] digests = list.digests();
        for (int chunk = 0, offset = 0; chunk < list.chunkCount(); chunk++, offset += Chunks.DIGEST_LENGTH) {
            if (!Chunks.isZeroDigest(digests, offset)) {
                table.putIfAbsent(digests, offset, flag | chunk);
            }
        }
    }

    private boolean confirm(long value, byte[] digest, int offset) {
        HashList list = (value & MEMORY_FLAG) != 0 ? memory : disk;
        return list.matches(value & ~MEMORY_FLAG, digest, offset);
    }

    /** The base location with exactly this content, or null. */
    public Location find(byte[] digest, int offset) {
        long value = table.get(digest, offset);
        if (value < 0) {
            return null;
        }
        boolean inMemory = (value & MEMORY_FLAG) != 0;
        return new Location(inMemory ? ImageKind.MEMORY : ImageKind.DISK, value & ~MEMORY_FLAG);
    }
}
