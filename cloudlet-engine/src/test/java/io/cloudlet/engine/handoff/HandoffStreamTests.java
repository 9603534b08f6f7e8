package io.cloudlet.engine.handoff;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cloudlet.engine.Fixtures;
import io.cloudlet.engine.basevm.BaseVm;
import io.cloudlet.engine.image.ImageReader;
import io.cloudlet.engine.image.RawImageReader;
import io.cloudlet.engine.qcow2.Qcow2Reader;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HandoffStreamTests {

    private static final String TICKET = "ticket-0123456789";

    @TempDir
    Path work;

    @Test
    void receiverEndsWithTheImagesTheSenderHadWhenItPaused() throws Exception {
        BaseVm base = Fixtures.base(work.resolve("base"), 512, 256, 1);
        Fixtures.Launch launch = Fixtures.launch(base, work.resolve("launch"), 0, 2);
        FakeGuest guest = new FakeGuest(launch, 3);
        FakeTarget target = new FakeTarget(work.resolve("received"));

        Run run = handoff(base, guest, target, TICKET, new HandoffSender.Options(
                List.of(new CodecChoice(io.cloudlet.engine.overlay.Codec.ZSTD, 3)), 4, Duration.ZERO, 64 * 1024));

        HandoffSender.Report report = run.sender().get(30, TimeUnit.SECONDS);
        HandoffReceiver.Result result = run.receiver().get(30, TimeUnit.SECONDS);
        assertThat(report.passes()).hasSizeGreaterThanOrEqualTo(3);
        assertThat(report.passes().get(report.passes().size() - 1).live()).isFalse();
        assertThat(report.passes().get(1).items()).as("the second pass sends only what the guest changed")
                .isLessThan(report.passes().get(0).items());
        assertThat(guest.pausedAt.get()).as("paused before the last pass").isEqualTo(report.passes().size());
        assertThat(guest.resumedAfterFailure).isFalse();
        assertThat(result.passes()).isEqualTo(report.passes().size());
        assertThat(target.deviceState.get()).isEqualTo(guest.deviceState());
        assertThat(target.launchState.get()).isEqualTo("{\"nics\":[]}");
        try (ImageReader baseDisk = new RawImageReader(base.disk());
             ImageReader disk = Qcow2Reader.open(target.files.disk(), baseDisk)) {
            assertThat(read(disk)).isEqualTo(Files.readAllBytes(launch.disk()));
        }
        assertThat(Files.readAllBytes(target.files.memory())).isEqualTo(Files.readAllBytes(launch.memory()));
    }

    @Test
    void firstPassSendsOnlyWhatDiffersFromTheBase() throws Exception {
        BaseVm base = Fixtures.base(work.resolve("base"), 512, 256, 4);
        Fixtures.Launch unchanged = new Fixtures.Launch(copy(base.disk(), "disk"), copy(base.memory(), "memory"));
        FakeGuest guest = new FakeGuest(unchanged, 0);

        Run run = handoff(base, guest, new FakeTarget(work.resolve("received")), TICKET,
                HandoffSender.Options.defaults());

        HandoffSender.Report report = run.sender().get(30, TimeUnit.SECONDS);
        assertThat(report.passes()).allSatisfy(pass -> assertThat(pass.items()).isZero());
        assertThat(report.wireBytes()).isLessThan(20_000);
    }

    @Test
    void wrongTicketIsRefusedBeforeAnythingIsMadeAndTheGuestRunsOn() throws Exception {
        BaseVm base = Fixtures.base(work.resolve("base"), 512, 256, 5);
        FakeGuest guest = new FakeGuest(Fixtures.launch(base, work.resolve("launch"), 0, 6), 0);
        FakeTarget target = new FakeTarget(work.resolve("received"));

        Run run = handoff(base, guest, target, "forged", HandoffSender.Options.defaults());

        assertThatThrownBy(() -> run.sender().join()).hasRootCauseInstanceOf(HandoffException.class)
                .rootCause().hasMessageContaining("ticket is not valid");
        assertThatThrownBy(() -> run.receiver().join()).hasRootCauseInstanceOf(HandoffException.class);
        assertThat(guest.resumedAfterFailure).isTrue();
        assertThat(target.prepared.get()).isZero();
    }

    @Test
    void receiverWithoutTheBaseVmRefuses() throws Exception {
        BaseVm base = Fixtures.base(work.resolve("base"), 512, 256, 7);
        FakeGuest guest = new FakeGuest(Fixtures.launch(base, work.resolve("launch"), 0, 8), 0);
        FakeTarget target = new FakeTarget(work.resolve("received"));

        Run run = handoff(id -> null, base, guest, target, TICKET, HandoffSender.Options.defaults());

        assertThatThrownBy(() -> run.sender().join()).rootCause().hasMessageContaining("does not hold base VM");
        assertThat(guest.resumedAfterFailure).isTrue();
        assertThat(target.prepared.get()).isZero();
    }

    @Test
    void failedLaunchAtTheReceiverResumesTheGuestAndDiscardsTheCopy() throws Exception {
        BaseVm base = Fixtures.base(work.resolve("base"), 512, 256, 9);
        FakeGuest guest = new FakeGuest(Fixtures.launch(base, work.resolve("launch"), 0, 10), 0);
        FakeTarget target = new FakeTarget(work.resolve("received"));
        target.failLaunch = true;

        Run run = handoff(base, guest, target, TICKET, HandoffSender.Options.defaults());

        assertThatThrownBy(() -> run.sender().join()).rootCause().hasMessageContaining("no room for it");
        assertThatThrownBy(() -> run.receiver().join()).rootCause().hasMessageContaining("no room for it");
        assertThat(guest.resumedAfterFailure).isTrue();
        assertThat(target.discarded.get()).isNotNull();
    }

    @Test
    void throttledLinkIsMeasuredAndIncompressibleDataIsNotCompressedHard() throws Exception {
        BaseVm base = Fixtures.base(work.resolve("base"), 512, 512, 11);
        Fixtures.Launch launch = new Fixtures.Launch(copy(base.disk(), "disk"), copy(base.memory(), "memory"));
        FakeGuest guest = new FakeGuest(launch, 0);
        guest.scribble(launch.memory(), 300);
        HandoffSender.Options options = new HandoffSender.Options(CodecChoice.DEFAULTS, 2, Duration.ofMillis(100),
                64 * 1024);

        Run run = handoff(id -> base, base, guest, new FakeTarget(work.resolve("received")), TICKET, options,
                1_000_000);

        HandoffSender.Report report = run.sender().get(60, TimeUnit.SECONDS);
        assertThat(report.linkBytesPerSecond()).isBetween(500_000.0, 2_000_000.0);
        assertThat(report.codecUse().keySet()).noneMatch(choice -> choice.startsWith("xz"));
        assertThat(report.total()).isGreaterThan(Duration.ofMillis(900));
    }

    // ---- fixtures ----

    private record Run(CompletableFuture<HandoffSender.Report> sender,
                       CompletableFuture<HandoffReceiver.Result> receiver) {
    }

    private Run handoff(BaseVm base, FakeGuest guest, FakeTarget target, String ticket,
                        HandoffSender.Options options) throws IOException {
        return handoff(id -> id.equals(base.baseId()) ? base : null, base, guest, target, ticket, options);
    }

    private Run handoff(java.util.function.Function<String, BaseVm> bases, BaseVm base, FakeGuest guest,
                        FakeTarget target, String ticket, HandoffSender.Options options) throws IOException {
        return handoff(bases, base, guest, target, ticket, options, 0);
    }

    private Run handoff(java.util.function.Function<String, BaseVm> bases, BaseVm base, FakeGuest guest,
                        FakeTarget target, String ticket, HandoffSender.Options options, long linkRate)
            throws IOException {
        ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        CompletableFuture<HandoffReceiver.Result> receiver = CompletableFuture.supplyAsync(() -> {
            try (server; Socket socket = server.accept()) {
                return HandoffReceiver.receive(bases, TICKET::equals, target, socket.getInputStream(),
                        socket.getOutputStream(), HandoffReceiver.Progress.NONE);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        CompletableFuture<HandoffSender.Report> sender = CompletableFuture.supplyAsync(() -> {
            try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort())) {
                return HandoffSender.send(base, guest, ticket, "{\"nics\":[]}", socket.getInputStream(),
                        Throttle.limit(socket.getOutputStream(), linkRate), options, HandoffSender.Progress.NONE);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        return new Run(sender, receiver);
    }

    private Path copy(Path file, String name) throws IOException {
        Path target = work.resolve(name);
        Files.copy(file, target);
        return target;
    }

    private static byte[] read(ImageReader reader) throws IOException {
        byte[] all = new byte[(int) reader.size()];
        reader.read(0, all, 0, all.length);
        return all;
    }

    /** A guest whose disk and memory files change between passes, as a running VM's would. */
    private static final class FakeGuest implements HandoffSender.Source {

        private final Fixtures.Launch images;
        private final int changingPasses;
        private final Random random = new Random(42);
        private final AtomicInteger passes = new AtomicInteger();
        final AtomicInteger pausedAt = new AtomicInteger();
        volatile boolean resumedAfterFailure;

        FakeGuest(Fixtures.Launch images, int changingPasses) {
            this.images = images;
            this.changingPasses = changingPasses;
        }

        @Override
        public ImageReader openDisk() throws IOException {
            return new RawImageReader(images.disk());
        }

        @Override
        public ImageReader openMemory() throws IOException {
            int pass = passes.incrementAndGet();
            if (pass > 1 && pass <= changingPasses + 1 && pausedAt.get() == 0) {
                // The guest ran during the previous pass: a few pages and a disk block changed.
                scribble(images.memory(), 6);
                scribble(images.disk(), 2);
            }
            return new RawImageReader(images.memory());
        }

        @Override
        public void pause() {
            pausedAt.set(passes.get() + 1);
        }

        @Override
        public byte[] deviceState() {
            byte[] state = new byte[5000];
            new Random(99).nextBytes(state);
            return state;
        }

        @Override
        public void resumeAfterFailure() {
            resumedAfterFailure = true;
        }

        void scribble(Path file, int chunks) throws IOException {
            try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
                long count = raf.length() / Fixtures.CHUNK;
                byte[] content = new byte[Fixtures.CHUNK];
                for (int i = 0; i < chunks; i++) {
                    random.nextBytes(content);
                    raf.seek(random.nextLong(count) * Fixtures.CHUNK);
                    raf.write(content);
                }
            }
        }
    }

    private static final class FakeTarget implements HandoffReceiver.Target {

        private final Path directory;
        final AtomicInteger prepared = new AtomicInteger();
        final AtomicReference<byte[]> deviceState = new AtomicReference<>();
        final AtomicReference<String> launchState = new AtomicReference<>();
        final AtomicReference<Exception> discarded = new AtomicReference<>();
        HandoffReceiver.Files files;
        volatile boolean failLaunch;

        FakeTarget(Path directory) {
            this.directory = directory;
        }

        @Override
        public HandoffReceiver.Files prepare(BaseVm base, String launchState) throws IOException {
            prepared.incrementAndGet();
            this.launchState.set(launchState);
            Files.createDirectories(directory);
            files = new HandoffReceiver.Files(directory.resolve("disk.qcow2"), directory.resolve("memory.raw"));
            return files;
        }

        @Override
        public void imagesCreated() {
        }

        @Override
        public void resume(byte[] state) throws IOException {
            if (failLaunch) {
                throw new IOException("no room for it");
            }
            deviceState.set(state);
        }

        @Override
        public void attachNetwork() {
        }

        @Override
        public void discard(Exception cause) {
            discarded.set(cause);
        }
    }
}
