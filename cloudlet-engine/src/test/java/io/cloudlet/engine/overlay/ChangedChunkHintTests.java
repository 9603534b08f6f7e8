package io.cloudlet.engine.overlay;

import static org.assertj.core.api.Assertions.assertThat;

import io.cloudlet.engine.basevm.BaseVm;
import io.cloudlet.engine.basevm.BaseVmDescription;
import io.cloudlet.engine.image.Chunks;
import io.cloudlet.engine.image.ImageKind;
import io.cloudlet.engine.image.ImageReader;
import io.cloudlet.engine.image.RawImageReader;
import io.cloudlet.engine.qcow2.Qcow2Reader;
import io.cloudlet.engine.synthesis.OverlayApplier;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A launch disk that knows its changed chunks is read only there, however large it is. */
class ChangedChunkHintTests {

    private static final long DISK_SIZE = 1L << 30;
    private static final long[] CHANGED = {5, 77_777, 262_143};

    @TempDir
    Path work;

    @Test
    void onlyHintedChunksOfALargeDiskAreRead() throws IOException {
        BaseVm base = sparseBase();
        HintedDisk launch = new HintedDisk(base.disk());
        List<String> progress = new ArrayList<>();
        OverlayCreator.Progress recorder = new OverlayCreator.Progress() {
            @Override
            public void scanned(ImageKind image, long done, long total) {
                progress.add(image + " " + done + "/" + total);
            }

            @Override
            public void written(int segments, long bytes) {
                progress.add("segments " + segments);
            }
        };

        OverlayMeta meta;
        try (ImageReader memory = new RawImageReader(base.memory())) {
            meta = OverlayCreator.create(base, launch, memory, java.util.Map.of(), OverlayCreator.Options.of(Codec.ZSTD),
                    work.resolve("app.overlay"), recorder);
        }

        assertThat(launch.bytesRead).as("only the three hinted chunks, once to scan and once to encode")
                .isEqualTo(2L * CHANGED.length * Chunks.SIZE);
        assertThat(meta.itemCounts().get("raw")).isEqualTo(CHANGED.length);
        assertThat(progress).contains("DISK 3/3", "MEMORY 16/16", "segments 1");

        Path disk = work.resolve("disk.qcow2");
        try (OverlaySource source = FileOverlaySource.open(work.resolve("app.overlay"))) {
            OverlayApplier.apply(base, source, disk, work.resolve("memory.raw"), OverlayApplier.Options.defaults(),
                    OverlayApplier.Progress.NONE);
        }
        try (ImageReader rebuilt = Qcow2Reader.open(disk)) {
            assertThat(rebuilt.changedChunks().cardinality()).isEqualTo(CHANGED.length * 16);
            byte[] chunk = new byte[Chunks.SIZE];
            for (long changed : CHANGED) {
                rebuilt.read(changed * Chunks.SIZE, chunk, 0, chunk.length);
                assertThat(chunk).isEqualTo(HintedDisk.content(changed));
            }
        }
    }

    private BaseVm sparseBase() throws IOException {
        Path dir = Files.createDirectories(work.resolve("base"));
        try (RandomAccessFile disk = new RandomAccessFile(dir.resolve(BaseVm.DISK).toFile(), "rw")) {
            disk.setLength(DISK_SIZE);
            disk.seek(1000L * Chunks.SIZE);
            disk.write(new byte[] {1, 2, 3});
        }
        Files.write(dir.resolve(BaseVm.MEMORY), new byte[16 * Chunks.SIZE]);
        return BaseVm.seal(dir, new BaseVmDescription("sparse", "pc", "core2duo", "7.2", "", List.of()), 2);
    }

    /** The base disk with three chunks changed; reading anywhere else fails the test. */
    private static final class HintedDisk implements ImageReader {
        private final RawImageReader base;
        long bytesRead;

        HintedDisk(Path baseDisk) throws IOException {
            this.base = new RawImageReader(baseDisk);
        }

        static byte[] content(long chunk) {
            byte[] bytes = new byte[Chunks.SIZE];
            Arrays.fill(bytes, (byte) (chunk % 251 + 1));
            return bytes;
        }

        @Override
        public long size() {
            return DISK_SIZE;
        }

        @Override
        public void read(long position, byte[] target, int offset, int length) throws IOException {
            for (int done = 0; done < length; done += Chunks.SIZE) {
                long chunk = (position + done) >>> Chunks.SHIFT;
                if (Arrays.binarySearch(CHANGED, chunk) < 0) {
                    throw new AssertionError("chunk " + chunk + " is outside the hint and must not be read");
                }
                System.arraycopy(content(chunk), 0, target, offset + done, Chunks.SIZE);
            }
            bytesRead += length;
        }

        @Override
        public BitSet changedChunks() {
            BitSet changed = new BitSet();
            for (long chunk : CHANGED) {
                changed.set((int) chunk);
            }
            return changed;
        }

        @Override
        public void close() throws IOException {
            base.close();
        }
    }
}
