package io.cloudlet.engine.handoff;

import io.cloudlet.engine.overlay.Codec;
import java.util.List;

/** A codec at one level, as the handoff stream may use it for a batch. */
public record CodecChoice(Codec codec, int level) {

    /** What the sender chooses among unless told otherwise: from no compression to xz's default. */
    public static final List<CodecChoice> DEFAULTS = List.of(
            new CodecChoice(Codec.NONE, 0),
            new CodecChoice(Codec.ZSTD, 1),
            new CodecChoice(Codec.ZSTD, 3),
            new CodecChoice(Codec.ZSTD, 9),
            new CodecChoice(Codec.ZSTD, 19),
            new CodecChoice(Codec.XZ, 1),
            new CodecChoice(Codec.XZ, 6));

    public CodecChoice {
        codec.checkLevel(level);
    }

    @Override
    public String toString() {
        return codec == Codec.NONE ? "none" : codec.label() + "-" + level;
    }
}
