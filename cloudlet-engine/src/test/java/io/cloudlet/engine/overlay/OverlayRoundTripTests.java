package io.cloudlet.engine.overlay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cloudlet.engine.Fixtures;
import io.cloudlet.engine.basevm.BaseVm;
import io.cloudlet.engine.image.ImageReader;
import io.cloudlet.engine.image.RawImageReader;
import io.cloudlet.engine.qcow2.Qcow2Reader;
import io.cloudlet.engine.synthesis.OverlayApplier;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

class OverlayRoundTripTests {

    @TempDir
    Path work;

    @ParameterizedTest
    @EnumSource(Codec.class)
    void synthesisRebuildsLaunchImagesByteForByte(Codec codec) throws IOException {
        BaseVm base = Fixtures.base(work.resolve("base"), 512, 256, 1);
        Fixtures.Launch launch = Fixtures.launch(base, work.resolve("launch"), 0, 2);

        OverlayMeta meta = OverlayCreator.create(base, launch.disk(), launch.memory(),
                smallSegments(codec), work.resolve("app.overlay"));

        assertThat(meta.itemCounts()).allSatisfy((kind, count) ->
                assertThat(count).as("items of kind %s", kind).isPositive());
        assertThat(meta.segments()).hasSizeGreaterThan(1);
        assertRebuilds(base, work.resolve("app.overlay"), launch);
    }

    @ParameterizedTest
    @CsvSource({"40", "-30"})
    void diskSizeChangesSurviveTheRoundTrip(int extraChunks) throws IOException {
        BaseVm base = Fixtures.base(work.resolve("base"), 512, 256, 3);
        Fixtures.Launch launch = Fixtures.launch(base, work.resolve("launch"), extraChunks, 4);

        OverlayMeta meta = OverlayCreator.create(base, launch.disk(), launch.memory(),
                smallSegments(Codec.ZSTD), work.resolve("app.overlay"));

        assertThat(meta.disk().size()).isEqualTo(Files.size(launch.disk()));
        assertRebuilds(base, work.resolve("app.overlay"), launch);
    }

    @ParameterizedTest
    @EnumSource(value = Codec.class, names = {"ZSTD", "XZ"})
    void identicalLaunchGivesAnEmptyOverlay(Codec codec) throws IOException {
        BaseVm base = Fixtures.base(work.resolve("base"), 64, 32, 5);

        OverlayMeta meta = OverlayCreator.create(base, base.disk(), base.memory(), OverlayCreator.Options.of(codec),
                work.resolve("empty.overlay"));

        assertThat(meta.segments()).isEmpty();
        assertThat(meta.itemCounts().values()).containsOnly(0L);
        assertRebuilds(base, work.resolve("empty.overlay"), new Fixtures.Launch(base.disk(), base.memory()));
    }

    @ParameterizedTest
    @EnumSource(value = Codec.class, names = {"ZSTD", "XZ"})
    void overlayOfASynthesisedDiskReadsOnlyItsCopyOnWriteLayer(Codec codec) throws IOException {
        BaseVm base = Fixtures.base(work.resolve("base"), 512, 256, 6);
        Fixtures.Launch launch = Fixtures.launch(base, work.resolve("launch"), 8, 7);
        OverlayCreator.create(base, launch.disk(), launch.memory(), smallSegments(codec), work.resolve("first.overlay"));
        Path disk = work.resolve("synth-disk.qcow2");
        Path memory = work.resolve("synth-memory.raw");
        try (OverlaySource source = FileOverlaySource.open(work.resolve("first.overlay"))) {
            OverlayApplier.apply(base, source, disk, memory, OverlayApplier.Options.defaults(),
                    OverlayApplier.Progress.NONE);
        }

        try (ImageReader layer = Qcow2Reader.open(disk)) {
            assertThat(layer.changedChunks().cardinality()).isLessThan((int) (layer.size() / Fixtures.CHUNK));
            try (ImageReader memoryReader = new RawImageReader(memory)) {
                OverlayCreator.create(base, layer, memoryReader, java.util.Map.of(), smallSegments(codec),
                        work.resolve("second.overlay"),
                        OverlayCreator.Progress.NONE);
            }
        }

        assertRebuilds(base, work.resolve("second.overlay"), launch);
    }

    @org.junit.jupiter.api.Test
    void progressIsReportedForEverySegment() throws IOException {
        BaseVm base = Fixtures.base(work.resolve("base"), 512, 256, 8);
        Fixtures.Launch launch = Fixtures.launch(base, work.resolve("launch"), 0, 9);
        OverlayMeta meta = OverlayCreator.create(base, launch.disk(), launch.memory(), smallSegments(Codec.ZSTD),
                work.resolve("app.overlay"));
        java.util.concurrent.ConcurrentLinkedQueue<Integer> reported = new java.util.concurrent.ConcurrentLinkedQueue<>();

        try (OverlaySource source = FileOverlaySource.open(work.resolve("app.overlay"))) {
            OverlayApplier.apply(base, source, work.resolve("d.qcow2"), work.resolve("m.raw"),
                    new OverlayApplier.Options(2, true), (done, total, bytes) -> reported.add(done));
        }

        assertThat(reported).containsExactlyInAnyOrderElementsOf(
                java.util.stream.IntStream.rangeClosed(1, meta.segments().size()).boxed().toList());
    }

    @ParameterizedTest
    @EnumSource(Codec.class)
    void attachmentsTravelWithTheOverlayAndAreVerified(Codec codec) throws IOException {
        BaseVm base = Fixtures.base(work.resolve("base"), 512, 256, 10);
        Fixtures.Launch launch = Fixtures.launch(base, work.resolve("launch"), 0, 11);
        byte[] deviceState = new byte[300_000];
        new java.util.Random(12).nextBytes(deviceState);
        Path overlay = work.resolve("app.overlay");
        try (ImageReader disk = new RawImageReader(launch.disk());
             ImageReader memory = new RawImageReader(launch.memory())) {
            OverlayCreator.create(base, disk, memory, java.util.Map.of("device-state", deviceState, "nics.json",
                    new byte[0]), smallSegments(codec), overlay, OverlayCreator.Progress.NONE);
        }

        try (OverlaySource source = FileOverlaySource.open(overlay)) {
            assertThat(source.attachment("device-state")).isEqualTo(deviceState);
            assertThat(source.attachment("nics.json")).isEmpty();
            assertThatThrownBy(() -> source.attachment("missing"))
                    .isInstanceOf(io.cloudlet.engine.InvalidArtifactException.class).hasMessageContaining("missing");
        }
        long stateAt;
        try (OverlaySource source = FileOverlaySource.open(overlay)) {
            OverlayMeta.Attachment state = source.header().meta().attachments().stream()
                    .filter(a -> a.name().equals("device-state")).findFirst().orElseThrow();
            stateAt = source.header().dataOffset() + state.offset() + state.length() / 2;
        }
        byte[] bytes = Files.readAllBytes(overlay);
        bytes[(int) stateAt] ^= 1;
        Files.write(overlay, bytes);
        try (OverlaySource source = FileOverlaySource.open(overlay)) {
            assertThatThrownBy(() -> source.attachment("device-state"))
                    .isInstanceOf(io.cloudlet.engine.InvalidArtifactException.class).hasMessageContaining("corrupt");
        }
    }

    static OverlayCreator.Options smallSegments(Codec codec) {
        // Small segments so the fixtures span several and duplicates cross segment boundaries.
        return new OverlayCreator.Options(codec, codec == Codec.XZ ? 1 : codec.defaultLevel(), 64 << 10, 2);
    }

    private void assertRebuilds(BaseVm base, Path overlay, Fixtures.Launch launch) throws IOException {
        Path disk = work.resolve("out-disk.qcow2");
        Path memory = work.resolve("out-memory.raw");
        Files.deleteIfExists(disk);
        Files.deleteIfExists(memory);
        try (OverlaySource source = FileOverlaySource.open(overlay)) {
            OverlayApplier.apply(base, source, disk, memory, OverlayApplier.Options.defaults(),
                    OverlayApplier.Progress.NONE);
        }
        assertThat(Files.readAllBytes(memory)).isEqualTo(Files.readAllBytes(launch.memory()));
        byte[] expectedDisk = Files.readAllBytes(launch.disk());
        try (ImageReader reader = Qcow2Reader.open(disk)) {
            assertThat(reader.size()).isEqualTo(expectedDisk.length);
            byte[] actual = new byte[expectedDisk.length];
            reader.read(0, actual, 0, actual.length);
            assertThat(actual).isEqualTo(expectedDisk);
        }
        assertThat(work).isDirectoryNotContaining("glob:**.partial");
    }
}
