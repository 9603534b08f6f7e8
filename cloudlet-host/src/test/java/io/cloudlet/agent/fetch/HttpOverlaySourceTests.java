package io.cloudlet.agent.fetch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import io.cloudlet.engine.InvalidArtifactException;
import io.cloudlet.engine.basevm.BaseVm;
import io.cloudlet.engine.basevm.BaseVmDescription;
import io.cloudlet.engine.image.ImageReader;
import io.cloudlet.engine.image.RawImageReader;
import io.cloudlet.engine.overlay.Codec;
import io.cloudlet.engine.overlay.FileOverlaySource;
import io.cloudlet.engine.overlay.OverlayCreator;
import io.cloudlet.engine.overlay.OverlayMeta;
import io.cloudlet.engine.overlay.OverlaySource;
import io.cloudlet.engine.synthesis.OverlayApplier;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HttpOverlaySourceTests {

    @TempDir
    Path work;

    private BaseVm base;
    private Path overlay;
    private byte[] deviceState;

    @BeforeEach
    void createOverlay() throws IOException {
        Random random = new Random(7);
        Path baseDir = Files.createDirectories(work.resolve("base"));
        byte[] disk = new byte[2 << 20];
        byte[] memory = new byte[4 << 20];
        random.nextBytes(disk);
        random.nextBytes(memory);
        Files.write(baseDir.resolve(BaseVm.DISK), disk);
        Files.write(baseDir.resolve(BaseVm.MEMORY), memory);
        base = BaseVm.seal(baseDir, new BaseVmDescription("b", "pc", "core2duo", "7.2.22", "{}", List.of()), 2);
        // The launch VM: a few MB of new data in small segments, so the download spans many.
        byte[] launchMemory = memory.clone();
        byte[] fresh = new byte[3 << 20];
        random.nextBytes(fresh);
        System.arraycopy(fresh, 0, launchMemory, 0, fresh.length);
        Files.write(work.resolve("launch-disk.raw"), disk);
        Files.write(work.resolve("launch-memory.raw"), launchMemory);
        deviceState = new byte[100_000];
        random.nextBytes(deviceState);
        overlay = Files.createDirectories(work.resolve("served")).resolve("app.overlay");
        try (ImageReader d = new RawImageReader(work.resolve("launch-disk.raw"));
             ImageReader m = new RawImageReader(work.resolve("launch-memory.raw"))) {
            OverlayCreator.create(base, d, m, Map.of("device.state", deviceState),
                    new OverlayCreator.Options(Codec.ZSTD, 3, 256 << 10, 2), overlay, OverlayCreator.Progress.NONE);
        }
    }

    @Test
    void streamsEverySegmentAndAttachmentAsTheFileHasThem() throws IOException {
        try (OverlayFileServer server = OverlayFileServer.start(overlay.getParent(), "127.0.0.1", 0);
             HttpOverlaySource remote = HttpOverlaySource.open(URI.create(server.url("app.overlay")));
             FileOverlaySource local = FileOverlaySource.open(overlay)) {
            OverlayMeta meta = local.header().meta();
            assertThat(meta.segments()).hasSizeGreaterThan(5);
            assertThat(remote.header()).isEqualTo(local.header());
            for (int i = 0; i < meta.segments().size(); i++) {
                assertThat(remote.readSegment(i)).isEqualTo(local.readSegment(i));
            }
            assertThat(remote.attachment("device.state")).isEqualTo(deviceState);
            assertThat(remote.fetchTime()).isPositive();
        }
    }

    @Test
    void appliesFromAUrlToTheSameLaunchImages() throws IOException {
        try (OverlayFileServer server = OverlayFileServer.start(overlay.getParent(), "127.0.0.1", 0);
             OverlaySource remote = HttpOverlaySource.open(URI.create(server.url("app.overlay")))) {
            OverlayApplier.apply(base, remote, work.resolve("disk.qcow2"), work.resolve("memory.raw"),
                    OverlayApplier.Options.defaults(), (done, total, bytes) -> { });
        }
        assertThat(Files.mismatch(work.resolve("memory.raw"), work.resolve("launch-memory.raw"))).isEqualTo(-1);
    }

    @Test
    void readsFromAServerThatIgnoresRanges() throws IOException {
        HttpServer plain = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 4);
        byte[] bytes = Files.readAllBytes(overlay);
        plain.createContext("/", exchange -> {
            exchange.sendResponseHeaders(200, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        });
        plain.start();
        try (HttpOverlaySource remote = HttpOverlaySource.open(URI.create("http://127.0.0.1:"
                + plain.getAddress().getPort() + "/app.overlay"))) {
            int segments = remote.header().meta().segments().size();
            for (int i = 0; i < segments; i++) {
                assertThat(remote.readSegment(i)).isNotEmpty();
            }
            assertThat(remote.attachment("device.state")).isEqualTo(deviceState);
        } finally {
            plain.stop(0);
        }
    }

    @Test
    void refusesATruncatedOverlayBeforeDownloadingIt() throws IOException {
        byte[] bytes = Files.readAllBytes(overlay);
        Files.write(overlay.resolveSibling("cut.overlay"), java.util.Arrays.copyOf(bytes, bytes.length - 1000));
        try (OverlayFileServer server = OverlayFileServer.start(overlay.getParent(), "127.0.0.1", 0)) {
            assertThatThrownBy(() -> HttpOverlaySource.open(URI.create(server.url("cut.overlay"))))
                    .isInstanceOf(InvalidArtifactException.class).hasMessageContaining("truncated");
        }
    }

    @Test
    void explainsMissingFilesAndUnreachableServers() throws IOException {
        try (OverlayFileServer server = OverlayFileServer.start(overlay.getParent(), "127.0.0.1", 0)) {
            assertThatThrownBy(() -> HttpOverlaySource.open(URI.create(server.url("missing.overlay"))))
                    .isInstanceOf(InvalidArtifactException.class).hasMessageContaining("HTTP 404");
            assertThatThrownBy(() -> HttpOverlaySource.open(URI.create(server.url("../../etc/passwd"))))
                    .isInstanceOf(InvalidArtifactException.class).hasMessageContaining("HTTP 404");
        }
        assertThatThrownBy(() -> HttpOverlaySource.open(URI.create("http://127.0.0.1:1/app.overlay")))
                .isInstanceOf(InvalidArtifactException.class).hasMessageContaining("connection refused");
    }

    @Test
    void refusesAFileThatIsNotAnOverlay() throws IOException {
        Files.writeString(overlay.resolveSibling("index.html"), "<html>not an overlay</html>");
        try (OverlayFileServer server = OverlayFileServer.start(overlay.getParent(), "127.0.0.1", 0)) {
            assertThatThrownBy(() -> HttpOverlaySource.open(URI.create(server.url("index.html"))))
                    .isInstanceOf(InvalidArtifactException.class).hasMessageContaining("not a cloudlet overlay");
        }
    }
}
