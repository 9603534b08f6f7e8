package io.cloudlet.engine.overlay;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The overlay's table of contents, stored as JSON right after the fixed header.
 *
 * @param formatVersion format of the whole file, currently 1
 * @param baseId        the base VM this overlay applies to
 * @param createdAt     when the overlay was written
 * @param codec         segment codec label: {@code none}, {@code zstd} or {@code xz}
 * @param level         the compression level the segments were written with (informative)
 * @param chunkSize     bytes per item, always 4096 in version 1
 * @param disk          the launch disk the overlay rebuilds
 * @param memory        the launch memory the overlay rebuilds
 * @param itemCounts    number of items of each kind, by lower-case kind name (informative)
 * @param segments      the segments in file order
 * @param attachments   further named blobs of the launch VM (e.g. its device state), stored after
 *                      the segments, compressed with the same codec
 */
public record OverlayMeta(
        int formatVersion,
        String baseId,
        Instant createdAt,
        String codec,
        int level,
        int chunkSize,
        LaunchImage disk,
        LaunchImage memory,
        Map<String, Long> itemCounts,
        List<Segment> segments,
        List<Attachment> attachments) {

    public static final int FORMAT_VERSION = 1;

    public OverlayMeta {
        segments = segments == null ? List.of() : List.copyOf(segments);
        attachments = attachments == null ? List.of() : List.copyOf(attachments);
        itemCounts = itemCounts == null ? Map.of() : Map.copyOf(itemCounts);
    }

    /**
     * A launch image: its size and the SHA-256 (hex) of its chunk hash list, which the applier
     * recomputes to prove the rebuilt image is the one the overlay was made from.
     */
    public record LaunchImage(long size, String hashListDigest) {
    }

    /**
     * One independently compressed run of items.
     *
     * @param offset    byte offset of the compressed segment from the start of the data area
     * @param length    compressed length in bytes
     * @param rawLength length of the decompressed item stream
     * @param items     number of items in the segment
     * @param sha256    SHA-256 (hex) of the compressed bytes
     */
    public record Segment(long offset, int length, int rawLength, int items, String sha256) {
    }

    /**
     * A named blob of the launch VM that is not a disk or memory image, such as the hypervisor's
     * device state; offsets as for segments.
     *
     * @param name      file name the blob is restored under
     * @param offset    byte offset from the start of the data area
     * @param length    compressed length in bytes
     * @param rawLength length after decompression
     * @param sha256    SHA-256 (hex) of the compressed bytes
     */
    public record Attachment(String name, long offset, int length, int rawLength, String sha256) {
    }

    /** Total compressed bytes of all segments. */
    public long segmentsLength() {
        return segments.isEmpty() ? 0 : segments.get(segments.size() - 1).offset()
                + segments.get(segments.size() - 1).length();
    }

    /** Total bytes of the data area: the segments, then the attachments. */
    public long dataLength() {
        return attachments.isEmpty() ? segmentsLength() : attachments.get(attachments.size() - 1).offset()
                + attachments.get(attachments.size() - 1).length();
    }
}
