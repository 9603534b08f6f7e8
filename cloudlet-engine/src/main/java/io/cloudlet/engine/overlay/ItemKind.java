package io.cloudlet.engine.overlay;

/**
 * What one overlay item says about one 4 KiB chunk of the launch disk or memory. The code is the
 * item's first byte in a segment.
 */
public enum ItemKind {
    /** The chunk is all zeros. No payload. */
    ZERO(0),
    /** The chunk equals base disk chunk N. Payload: N as u64. */
    BASE_DISK(1),
    /** The chunk equals base memory page N. Payload: N as u64. */
    BASE_MEMORY(2),
    /** The chunk equals the content of item K earlier in the same segment. Payload: K as u32. */
    SELF(3),
    /** The chunk's 4096 bytes. */
    RAW(4),
    /** Runs of bytes that differ from the base chunk at the same position. See the format doc. */
    DELTA(5);

    private static final ItemKind[] BY_CODE = values();

    private final int code;

    ItemKind(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    /** The kind with this code, or null. */
    static ItemKind ofCode(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
