package io.cloudlet.engine.overlay;

import static org.assertj.core.api.Assertions.assertThat;

import io.cloudlet.engine.Fixtures;
import io.cloudlet.engine.InvalidArtifactException;
import io.cloudlet.engine.basevm.BaseVm;
import io.cloudlet.engine.image.Chunks;
import io.cloudlet.engine.synthesis.OverlayApplier;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Overlays whose segments were tampered with and then re-hashed (so the SHA-256 check passes) must
 * be refused with {@link InvalidArtifactException} or applied; never crash the applier with
 * another exception, and never leave output behind on failure.
 */
class HostileSegmentTests {

    @TempDir
    Path work;

    @Test
    void mutatedSegmentsFailCleanly() throws IOException {
        BaseVm base = Fixtures.base(work.resolve("base"), 256, 160, 31);
        Fixtures.Launch launch = Fixtures.launch(base, work.resolve("launch"), 0, 32);
        Path overlay = work.resolve("app.overlay");
        OverlayMeta meta = OverlayCreator.create(base, launch.disk(), launch.memory(),
                new OverlayCreator.Options(Codec.NONE, 0, 1 << 20, 2), overlay);
        byte[] data;
        OverlayFormat.Header header;
        try (InputStream in = Files.newInputStream(overlay)) {
            header = OverlayFormat.readHeader(in);
            data = in.readAllBytes();
        }
        Random random = new Random(33);
        int refused = 0;
        for (int round = 0; round < 150; round++) {
            byte[] mutated = data.clone();
            for (int flips = 1 + random.nextInt(4); flips > 0; flips--) {
                int at = random.nextInt(mutated.length);
                mutated[at] = (byte) (round % 3 == 0 ? 0xff : random.nextInt(256));
            }
            Path file = rehashed(meta, mutated, round);
            Path out = Files.createDirectories(work.resolve("out-" + round));
            try (OverlaySource source = FileOverlaySource.open(file)) {
                OverlayApplier.apply(base, source, out.resolve("disk.qcow2"), out.resolve("memory.raw"),
                        OverlayApplier.Options.defaults(), OverlayApplier.Progress.NONE);
            } catch (InvalidArtifactException expected) {
                refused++;
                try (Stream<Path> left = Files.list(out)) {
                    assertThat(left).as("round %d leaves nothing", round).isEmpty();
                }
            }
        }
        assertThat(header.meta().segments()).isNotEmpty();
        assertThat(refused).as("most mutations break the item stream or the launch digests").isGreaterThan(100);
    }

    /** The overlay with {@code data} as its data area and segment hashes recomputed to match. */
    private Path rehashed(OverlayMeta meta, byte[] data, int round) throws IOException {
        List<OverlayMeta.Segment> segments = new ArrayList<>();
        for (OverlayMeta.Segment segment : meta.segments()) {
            byte[] bytes = java.util.Arrays.copyOfRange(data, (int) segment.offset(),
                    (int) segment.offset() + segment.length());
            segments.add(new OverlayMeta.Segment(segment.offset(), segment.length(), segment.rawLength(),
                    segment.items(), HexFormat.of().formatHex(Chunks.sha256().digest(bytes))));
        }
        OverlayMeta rehashed = new OverlayMeta(meta.formatVersion(), meta.baseId(), meta.createdAt(), meta.codec(),
                meta.level(), meta.chunkSize(), meta.disk(), meta.memory(), meta.itemCounts(), segments, List.of());
        Path file = work.resolve("mutated-" + round + ".overlay");
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(OverlayFormat.encodeHeader(rehashed));
            out.write(data);
        }
        return file;
    }
}
