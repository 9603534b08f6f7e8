package io.cloudlet.engine.qcow2;

/** qcow2 constants shared by the reader and the writer. */
final class Qcow2 {

    static final int MAGIC = 0x514649fb;
    static final int HEADER_V3_LENGTH = 104;
    static final int EXTENSION_BACKING_FORMAT = 0xE2792ACA;
    static final long OFFSET_MASK = 0x00ff_ffff_ffff_fe00L;
    static final long COPIED = 1L << 63;
    static final long COMPRESSED = 1L << 62;
    static final long ZERO_FLAG = 1L;
    static final long INCOMPATIBLE_DIRTY = 1L;
    static final long INCOMPATIBLE_CORRUPT = 1L << 1;
    static final long INCOMPATIBLE_EXTERNAL_DATA = 1L << 2;
    static final long INCOMPATIBLE_EXTENDED_L2 = 1L << 4;

    private Qcow2() {
    }
}
