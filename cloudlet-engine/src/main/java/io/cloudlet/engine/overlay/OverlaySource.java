package io.cloudlet.engine.overlay;

import io.cloudlet.engine.InvalidArtifactException;
import io.cloudlet.engine.image.Chunks;
import java.io.Closeable;
import java.io.IOException;

/**
 * Where an overlay's bytes come from: a local file, or a URL read with range requests. The header
 * is read when the source opens; segments are read on demand, possibly from several threads.
 */
public interface OverlaySource extends Closeable {

    OverlayFormat.Header header();

    /** The compressed bytes of segment {@code index}, unverified. Thread-safe. */
    byte[] readSegment(int index) throws IOException;

    /** The compressed bytes of attachment {@code index}, unverified. */
    byte[] readAttachment(int index) throws IOException;

    /**
     * The attachment called {@code name}, verified against its SHA-256 and decompressed.
     *
     * @throws InvalidArtifactException when the overlay has no such attachment or it is corrupt
     */
    default byte[] attachment(String name) throws IOException {
        OverlayMeta meta = header().meta();
        for (int i = 0; i < meta.attachments().size(); i++) {
            OverlayMeta.Attachment entry = meta.attachments().get(i);
            if (entry.name().equals(name)) {
                byte[] compressed = readAttachment(i);
                String sha = java.util.HexFormat.of().formatHex(Chunks.sha256().digest(compressed));
                if (!sha.equals(entry.sha256())) {
                    throw new InvalidArtifactException("overlay attachment '" + name + "' is corrupt: SHA-256 "
                            + sha + ", meta says " + entry.sha256());
                }
                byte[] raw = new byte[entry.rawLength()];
                Codec.byLabel(meta.codec()).decompress(compressed, raw, entry.rawLength());
                return raw;
            }
        }
        throw new InvalidArtifactException("overlay " + describe() + " has no attachment '" + name + "'");
    }

    /** Where the overlay comes from, for messages. */
    String describe();
}
