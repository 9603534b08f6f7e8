package io.cloudlet.engine.overlay;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdException;
import io.cloudlet.engine.InvalidArtifactException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import org.tukaani.xz.BasicArrayCache;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.UnsupportedOptionsException;
import org.tukaani.xz.XZInputStream;
import org.tukaani.xz.XZOutputStream;

/** How a segment's bytes are compressed. Each segment is one self-contained frame or stream. */
public enum Codec {

    /** Stored as is: for links faster than any compressor. */
    NONE("none", 0, 0, 0) {
        @Override
        public byte[] compress(byte[] source, int length, int level) {
            return Arrays.copyOf(source, length);
        }

        @Override
        public void decompress(byte[] source, byte[] target, int targetLength) throws InvalidArtifactException {
            if (source.length != targetLength) {
                throw new InvalidArtifactException("stored segment has " + source.length + " bytes, expected "
                        + targetLength);
            }
            System.arraycopy(source, 0, target, 0, targetLength);
        }
    },

    /** Zstandard frames (zstd-jni): fast to decode, the default for synthesis. */
    ZSTD("zstd", -7, 22, 9) {
        @Override
        public byte[] compress(byte[] source, int length, int level) {
            byte[] target = new byte[(int) Zstd.compressBound(length)];
            long written = Zstd.compressByteArray(target, 0, target.length, source, 0, length, level);
            return Arrays.copyOf(target, (int) written);
        }

        @Override
        public void decompress(byte[] source, byte[] target, int targetLength) throws InvalidArtifactException {
            long written;
            try {
                written = Zstd.decompressByteArray(target, 0, targetLength, source, 0, source.length);
            } catch (ZstdException e) {
                throw new InvalidArtifactException("zstd segment does not decode: " + e.getMessage(), e);
            }
            if (written != targetLength) {
                throw new InvalidArtifactException("zstd segment decoded to " + written + " bytes, expected "
                        + targetLength);
            }
        }
    },

    /** xz streams with one LZMA2 block (xz-java): smallest overlays, slower to decode. */
    XZ("xz", 0, 9, 6) {
        @Override
        public byte[] compress(byte[] source, int length, int level) {
            try {
                LZMA2Options options = new LZMA2Options(level);
                // A dictionary larger than the segment only costs memory.
                options.setDictSize(Math.max(LZMA2Options.DICT_SIZE_MIN, Math.min(options.getDictSize(), length)));
                ByteArrayOutputStream target = new ByteArrayOutputStream(length / 3 + 64);
                try (XZOutputStream xz = new XZOutputStream(target, options, org.tukaani.xz.XZ.CHECK_NONE,
                        BasicArrayCache.getInstance())) {
                    xz.write(source, 0, length);
                }
                return target.toByteArray();
            } catch (UnsupportedOptionsException e) {
                throw new IllegalArgumentException("xz level " + level + " is not supported", e);
            } catch (IOException e) {
                throw new IllegalStateException("in-memory compression cannot fail", e);
            }
        }

        @Override
        public void decompress(byte[] source, byte[] target, int targetLength) throws InvalidArtifactException {
            try (InputStream xz = new XZInputStream(new ByteArrayInputStream(source), -1, false,
                    BasicArrayCache.getInstance())) {
                int done = 0;
                while (done < targetLength) {
                    int n = xz.read(target, done, targetLength - done);
                    if (n < 0) {
                        throw new InvalidArtifactException("xz segment ended after " + done + " of "
                                + targetLength + " bytes");
                    }
                    done += n;
                }
                if (xz.read() >= 0) {
                    throw new InvalidArtifactException("xz segment holds more than the " + targetLength
                            + " bytes recorded");
                }
            } catch (InvalidArtifactException e) {
                throw e;
            } catch (IOException e) {
                throw new InvalidArtifactException("xz segment does not decode: " + e.getMessage(), e);
            }
        }
    };

    private final String label;
    private final int minLevel;
    private final int maxLevel;
    private final int defaultLevel;

    Codec(String label, int minLevel, int maxLevel, int defaultLevel) {
        this.label = label;
        this.minLevel = minLevel;
        this.maxLevel = maxLevel;
        this.defaultLevel = defaultLevel;
    }

    /** Compresses {@code source[0..length)} into a new array. */
    public abstract byte[] compress(byte[] source, int length, int level);

    /** Decompresses all of {@code source} into exactly {@code targetLength} bytes of {@code target}. */
    public abstract void decompress(byte[] source, byte[] target, int targetLength) throws InvalidArtifactException;

    /** The name used in overlay meta and on command lines. */
    public String label() {
        return label;
    }

    public int defaultLevel() {
        return defaultLevel;
    }

    public int checkLevel(int level) {
        if (level < minLevel || level > maxLevel) {
            throw new IllegalArgumentException(label + " levels run from " + minLevel + " to " + maxLevel
                    + ", not " + level);
        }
        return level;
    }

    public static Codec byLabel(String label) throws InvalidArtifactException {
        for (Codec codec : values()) {
            if (codec.label.equals(label)) {
                return codec;
            }
        }
        throw new InvalidArtifactException("unknown codec '" + label + "' (known: none, zstd, xz)");
    }
}
