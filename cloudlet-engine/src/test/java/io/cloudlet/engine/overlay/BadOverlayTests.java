package io.cloudlet.engine.overlay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cloudlet.engine.Fixtures;
import io.cloudlet.engine.InvalidArtifactException;
import io.cloudlet.engine.basevm.BaseVm;
import io.cloudlet.engine.image.Chunks;
import io.cloudlet.engine.image.ImageKind;
import io.cloudlet.engine.synthesis.OverlayApplier;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every bad overlay fails with a message naming the problem and leaves no output behind. */
class BadOverlayTests {

    @TempDir
    Path work;

    private BaseVm base;
    private Path overlay;
    private OverlayMeta meta;

    @BeforeEach
    void createOverlay() throws IOException {
        base = Fixtures.base(work.resolve("base"), 512, 256, 11);
        Fixtures.Launch launch = Fixtures.launch(base, work.resolve("launch"), 0, 12);
        overlay = work.resolve("app.overlay");
        meta = OverlayCreator.create(base, launch.disk(), launch.memory(),
                OverlayRoundTripTests.smallSegments(Codec.ZSTD), overlay);
    }

    @Test
    void overlayOfAnotherBaseIsRefused() throws IOException {
        BaseVm other = Fixtures.base(work.resolve("other"), 512, 256, 99);

        assertApplyFails(other, overlay, "was made for base VM " + base.baseId());
    }

    @Test
    void corruptSegmentIsNamed() throws IOException {
        byte[] bytes = Files.readAllBytes(overlay);
        OverlayFormat.Header header = OverlayFormat.readHeader(bytes);
        int last = meta.segments().size() - 1;
        OverlayMeta.Segment segment = meta.segments().get(last);
        bytes[(int) (header.dataOffset() + segment.offset() + segment.length() / 2)] ^= 0x40;
        Path corrupt = write("corrupt.overlay", bytes);

        assertApplyFails(base, corrupt, "overlay segment " + last + " is corrupt");
    }

    @Test
    void truncatedOverlayIsRefused() throws IOException {
        byte[] bytes = Files.readAllBytes(overlay);
        Path truncated = write("truncated.overlay", Arrays.copyOf(bytes, bytes.length - 100));

        assertApplyFails(base, truncated, "is truncated");
    }

    @Test
    void overlayCutInsideItsHeaderIsRefused() throws IOException {
        Path truncated = write("stub.overlay", Arrays.copyOf(Files.readAllBytes(overlay), 40));

        assertApplyFails(base, truncated, "ends inside its header");
    }

    @Test
    void unknownCodecIsNamed() throws IOException {
        OverlayMeta lz4 = new OverlayMeta(meta.formatVersion(), meta.baseId(), meta.createdAt(), "lz4", 1,
                meta.chunkSize(), meta.disk(), meta.memory(), meta.itemCounts(), meta.segments(), meta.attachments());
        Path rewritten = work.resolve("lz4.overlay");
        try (InputStream in = Files.newInputStream(overlay); OutputStream out = Files.newOutputStream(rewritten)) {
            OverlayFormat.readHeader(in);
            out.write(OverlayFormat.encodeHeader(lz4));
            in.transferTo(out);
        }

        assertApplyFails(base, rewritten, "unknown codec 'lz4'");
    }

    @Test
    void fileThatIsNoOverlayIsRefused() throws IOException {
        Path text = write("notes.txt", "just some text, long enough to fill a header".getBytes());

        assertApplyFails(base, text, "not a cloudlet overlay");
    }

    @Test
    void itemPastTheImageEndIsRefused() throws IOException {
        SegmentWriter writer = new SegmentWriter(64);
        writer.zero(SegmentWriter.target(ImageKind.DISK, 1L << 40));

        assertApplyFails(base, handMade("past-end.overlay", writer), "past the image's end");
    }

    @Test
    void chunkWrittenTwiceIsRefused() throws IOException {
        SegmentWriter writer = new SegmentWriter(64);
        writer.zero(SegmentWriter.target(ImageKind.MEMORY, 3));
        writer.zero(SegmentWriter.target(ImageKind.MEMORY, 3));

        assertApplyFails(base, handMade("twice.overlay", writer), "writes chunk 3 twice");
    }

    @Test
    void referenceToAMissingBaseChunkIsRefused() throws IOException {
        SegmentWriter writer = new SegmentWriter(64);
        writer.base(ImageKind.DISK, SegmentWriter.target(ImageKind.MEMORY, 3), 1L << 30);

        assertApplyFails(base, handMade("no-such-base-chunk.overlay", writer), "past its end");
    }

    /** An overlay of one well-formed segment holding what {@code writer} wrote. */
    private Path handMade(String name, SegmentWriter writer) throws IOException {
        byte[] compressed = Codec.ZSTD.compress(writer.buffer(), writer.size(), 3);
        OverlayMeta.Segment segment = new OverlayMeta.Segment(0, compressed.length, writer.size(), writer.items(),
                HexFormat.of().formatHex(Chunks.sha256().digest(compressed)));
        OverlayMeta handMade = new OverlayMeta(1, base.baseId(), meta.createdAt(), "zstd", 3, 4096, meta.disk(),
                meta.memory(), meta.itemCounts(), List.of(segment), List.of());
        Path file = work.resolve(name);
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(OverlayFormat.encodeHeader(handMade));
            out.write(compressed);
        }
        return file;
    }

    @Test
    void metaThatIsNotJsonIsRefused() throws IOException {
        byte[] junk = "{ not json".getBytes();
        java.nio.ByteBuffer header = java.nio.ByteBuffer.allocate(16 + junk.length);
        header.put("CLOVRLAY".getBytes()).putShort((short) 1).putShort((short) 0).putInt(junk.length).put(junk);
        Path file = write("junk.overlay", header.array());

        assertApplyFails(base, file, "overlay meta is not valid");
    }

    private void assertApplyFails(BaseVm target, Path file, String message) throws IOException {
        Path disk = work.resolve("out").resolve("disk.qcow2");
        Path memory = work.resolve("out").resolve("memory.raw");
        Files.createDirectories(disk.getParent());

        assertThatThrownBy(() -> {
            try (OverlaySource source = FileOverlaySource.open(file)) {
                OverlayApplier.apply(target, source, disk, memory, OverlayApplier.Options.defaults(),
                        OverlayApplier.Progress.NONE);
            }
        }).isInstanceOf(InvalidArtifactException.class).hasMessageContaining(message);

        try (Stream<Path> left = Files.list(disk.getParent())) {
            assertThat(left).as("nothing left behind").isEmpty();
        }
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path file = work.resolve(name);
        Files.write(file, bytes);
        return file;
    }
}
