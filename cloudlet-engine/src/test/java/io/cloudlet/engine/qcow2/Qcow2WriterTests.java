package io.cloudlet.engine.qcow2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.cloudlet.engine.image.RawImageReader;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Qcow2WriterTests {

    private static final int CLUSTER = Qcow2Writer.CLUSTER_SIZE;

    @TempDir
    Path work;

    @Test
    void layerOverALargeBaseHoldsOnlyItsClusters() throws IOException {
        Path base = sparseBase(4L << 30);
        Path layer = work.resolve("layer.qcow2");
        byte[] data = randomBytes(CLUSTER, 1);
        try (Qcow2Writer writer = new Qcow2Writer(layer, base, 4L << 30)) {
            writer.write(ByteBuffer.wrap(data), writer.allocate(30_000));
            writer.finish();
        }

        assertThat(Files.size(layer)).isLessThan(1 << 20);
        try (Qcow2Reader reader = Qcow2Reader.open(layer)) {
            assertThat(reader.size()).isEqualTo(4L << 30);
            byte[] read = new byte[CLUSTER];
            reader.read(30_000L * CLUSTER, read, 0, CLUSTER);
            assertThat(read).isEqualTo(data);
            reader.read(3L << 30, read, 0, CLUSTER);
            assertThat(read).containsOnly(7);
            assertThat(reader.changedChunks().stream().boxed().toList())
                    .containsExactlyElementsOf(java.util.stream.IntStream.range(30_000 * 16, 30_001 * 16).boxed().toList());
        }
    }

    @Test
    void qemuImgAcceptsTheLayerAndSeesTheSameDisk() throws Exception {
        assumeTrue(onPath("qemu-img"), "qemu-img is installed by .ci/run; skipped where it is missing");
        Path base = work.resolve("base.raw");
        byte[] baseBytes = randomBytes(40 * CLUSTER + 512, 2);
        Files.write(base, baseBytes);
        long size = 50L * CLUSTER;
        Path layer = work.resolve("layer.qcow2");
        byte[] expected = java.util.Arrays.copyOf(baseBytes, (int) size);
        try (Qcow2Writer writer = new Qcow2Writer(layer, base, size)) {
            for (int cluster : new int[] {0, 3, 39, 45}) {
                byte[] data = randomBytes(CLUSTER, cluster);
                writer.write(ByteBuffer.wrap(data), writer.allocate(cluster));
                System.arraycopy(data, 0, expected, cluster * CLUSTER, CLUSTER);
            }
            writer.finish();
        }
        Path expectedRaw = work.resolve("expected.raw");
        Files.write(expectedRaw, expected);

        assertThat(run("qemu-img", "check", layer.toString())).isZero();
        assertThat(run("qemu-img", "compare", "-f", "qcow2", "-F", "raw", layer.toString(), expectedRaw.toString()))
                .isZero();
        try (Qcow2Reader reader = Qcow2Reader.open(layer, new RawImageReader(base))) {
            byte[] read = new byte[(int) size];
            reader.read(0, read, 0, read.length);
            assertThat(read).isEqualTo(expected);
        }
    }

    @Test
    void readerFollowsALayerMadeByQemuImg() throws Exception {
        assumeTrue(onPath("qemu-io"), "qemu-utils is installed by .ci/run; skipped where it is missing");
        Path base = work.resolve("base.raw");
        Files.write(base, randomBytes(64 * CLUSTER, 3));
        Path layer = work.resolve("qemu.qcow2");
        assertThat(run("qemu-img", "create", "-q", "-f", "qcow2", "-b", base.toString(), "-F", "raw",
                layer.toString())).isZero();
        assertThat(run("qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 200k 4k", "-c", "write -z 1m 64k",
                layer.toString())).isZero();

        try (Qcow2Reader reader = Qcow2Reader.open(layer)) {
            byte[] chunk = new byte[4096];
            reader.read(200 << 10, chunk, 0, chunk.length);
            assertThat(chunk).containsOnly(0x5a);
            reader.read(1 << 20, chunk, 0, chunk.length);
            assertThat(chunk).containsOnly(0);
            assertThat(reader.changedChunks().get(50)).isTrue();
            assertThat(reader.changedChunks().get(256)).isTrue();
            assertThat(reader.changedChunks().get(600)).isFalse();
        }
    }

    private Path sparseBase(long size) throws IOException {
        Path base = work.resolve("sparse-base.raw");
        try (RandomAccessFile file = new RandomAccessFile(base.toFile(), "rw")) {
            file.setLength(size);
            byte[] sevens = new byte[CLUSTER];
            java.util.Arrays.fill(sevens, (byte) 7);
            file.seek(3L << 30);
            file.write(sevens);
        }
        return base;
    }

    private static byte[] randomBytes(int length, long seed) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    static boolean onPath(String tool) {
        return List.of(System.getenv("PATH").split(":")).stream().anyMatch(dir -> Files.isExecutable(Path.of(dir, tool)));
    }

    private int run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        if (process.exitValue() != 0) {
            System.err.println(String.join(" ", command) + ":\n" + output);
        }
        return process.exitValue();
    }
}
