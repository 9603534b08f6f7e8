package io.cloudlet.engine.overlay;

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

    /** Where the overlay comes from, for messages. */
    String describe();
}
