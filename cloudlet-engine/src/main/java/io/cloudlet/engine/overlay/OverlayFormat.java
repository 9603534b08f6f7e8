package io.cloudlet.engine.overlay;

import io.cloudlet.engine.InvalidArtifactException;
import io.cloudlet.engine.Json;
import io.cloudlet.engine.image.Chunks;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The overlay file's fixed header and meta block:
 * {@code "CLOVRLAY" | u16 version | u16 flags | u32 metaLength | meta JSON | segments...},
 * integers big-endian. Segment offsets in the meta count from the end of the meta block.
 */
public final class OverlayFormat {

    public static final int HEADER_LENGTH = 16;
    static final byte[] MAGIC = "CLOVRLAY".getBytes(StandardCharsets.US_ASCII);
    static final int MAX_META_LENGTH = 64 << 20;
    /** Upper bound on a decompressed segment, so a hostile meta cannot make us allocate wildly. */
    public static final int MAX_SEGMENT_RAW_LENGTH = 256 << 20;

    private OverlayFormat() {
    }

    /** An overlay's meta and where its data area starts. */
    public record Header(OverlayMeta meta, long dataOffset) {

        /** The length a complete overlay file has. */
        public long totalLength() {
            return dataOffset + meta.dataLength();
        }
    }

    /** The bytes that precede the data area. */
    public static byte[] encodeHeader(OverlayMeta meta) throws IOException {
        byte[] json = Json.mapper().writeValueAsBytes(meta);
        ByteBuffer header = ByteBuffer.allocate(HEADER_LENGTH + json.length);
        header.put(MAGIC).putShort((short) OverlayMeta.FORMAT_VERSION).putShort((short) 0)
                .putInt(json.length).put(json);
        return header.array();
    }

    /** Reads and validates the header and meta, leaving {@code in} at the first segment. */
    public static Header readHeader(InputStream in) throws IOException {
        DataInputStream data = new DataInputStream(in);
        byte[] magic = new byte[MAGIC.length];
        try {
            data.readFully(magic);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new InvalidArtifactException("not a cloudlet overlay (bad magic)");
            }
            int version = data.readUnsignedShort();
            data.readUnsignedShort();
            if (version != OverlayMeta.FORMAT_VERSION) {
                throw new InvalidArtifactException("overlay format version " + version
                        + " is not supported; this engine reads version " + OverlayMeta.FORMAT_VERSION);
            }
            int metaLength = data.readInt();
            if (metaLength <= 0 || metaLength > MAX_META_LENGTH) {
                throw new InvalidArtifactException("overlay meta length " + metaLength + " is out of range");
            }
            byte[] json = new byte[metaLength];
            data.readFully(json);
            OverlayMeta meta;
            try {
                meta = Json.mapper().readValue(json, OverlayMeta.class);
            } catch (com.fasterxml.jackson.core.JacksonException e) {
                throw new InvalidArtifactException("overlay meta is not valid: " + e.getOriginalMessage(), e);
            }
            validate(meta);
            return new Header(meta, HEADER_LENGTH + (long) metaLength);
        } catch (EOFException e) {
            throw new InvalidArtifactException("overlay is truncated: it ends inside its header", e);
        }
    }

    static void validate(OverlayMeta meta) throws InvalidArtifactException {
        if (meta.baseId() == null || meta.disk() == null || meta.memory() == null || meta.codec() == null) {
            throw new InvalidArtifactException("overlay meta lacks baseId, codec, disk or memory");
        }
        Codec.byLabel(meta.codec());
        if (meta.chunkSize() != Chunks.SIZE) {
            throw new InvalidArtifactException("overlay chunk size " + meta.chunkSize() + " is not supported");
        }
        if (meta.disk().size() < 0 || meta.memory().size() < 0) {
            throw new InvalidArtifactException("overlay meta has a negative image size");
        }
        long expectedOffset = 0;
        for (int i = 0; i < meta.segments().size(); i++) {
            OverlayMeta.Segment segment = meta.segments().get(i);
            if (segment.offset() != expectedOffset || segment.length() <= 0 || segment.rawLength() <= 0
                    || segment.rawLength() > MAX_SEGMENT_RAW_LENGTH || segment.sha256() == null) {
                throw new InvalidArtifactException("overlay segment " + i + " has an invalid table entry");
            }
            expectedOffset += segment.length();
        }
        java.util.Set<String> names = new java.util.HashSet<>();
        for (OverlayMeta.Attachment attachment : meta.attachments()) {
            if (attachment.name() == null || !attachment.name().matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
                    || !names.add(attachment.name()) || attachment.offset() != expectedOffset
                    || attachment.length() < 0 || attachment.rawLength() < 0
                    || attachment.rawLength() > MAX_SEGMENT_RAW_LENGTH || attachment.sha256() == null) {
                throw new InvalidArtifactException("overlay attachment '" + attachment.name()
                        + "' has an invalid table entry");
            }
            expectedOffset += attachment.length();
        }
    }

    /** Reads the header from an in-memory prefix; used where the prefix was fetched separately. */
    public static Header readHeader(byte[] prefix) throws IOException {
        return readHeader(new java.io.ByteArrayInputStream(prefix));
    }
}
