package io.cloudlet.engine.handoff;

import io.cloudlet.engine.InvalidArtifactException;
import io.cloudlet.engine.basevm.BaseVm;
import io.cloudlet.engine.image.Chunks;
import io.cloudlet.engine.image.ImageKind;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Receives a VM from a {@link HandoffSender} and has the host resume it. The receiver checks the
 * one-time ticket before it reads anything else, creates the images over the base VM as soon as
 * the sender has said which VM comes (so that the host can define the VM early, paused), applies
 * the passes in place, and on the sender's commit completes the images and lets the host resume
 * the VM from the device state. Anything that goes wrong is reported to the sender, and the
 * host's {@link Target#discard} removes what was made.
 */
public final class HandoffReceiver {

    /** What the receiving host does at each step. */
    public interface Target {

        /**
         * The sender announced a VM on {@code base}: reserve it and return where its disk (a qcow2
         * layer) and memory (a raw file) go. {@code launchState} is the sender's opaque JSON.
         */
        Files prepare(BaseVm base, String launchState) throws IOException;

        /** The images exist (not yet complete): the host may define the VM paused, waiting for its state. */
        void imagesCreated() throws IOException;

        /** The images are complete: load {@code deviceState} and run the VM. */
        void resume(byte[] deviceState) throws IOException;

        /** The VM runs: make its network valid here (the sender's VM is paused until this returns). */
        void attachNetwork() throws IOException;

        /** The handoff failed: remove whatever {@link #prepare} and later steps made. */
        void discard(Exception cause);
    }

    /** Where the received images go. */
    public record Files(java.nio.file.Path disk, java.nio.file.Path memory) {
    }

    /** Reports progress: a phase and a percent, or -1. */
    @FunctionalInterface
    public interface Progress {
        void report(String phase, int percent);

        Progress NONE = (phase, percent) -> {
        };
    }

    /**
     * What was received.
     *
     * @param passes  passes applied, the paused one included
     * @param items   chunks applied
     * @param resume  from the sender's commit to the VM running
     * @param network the host's network step after that
     */
    public record Result(int passes, long items, Duration resume, Duration network) {
    }

    private final Function<String, BaseVm> bases;
    private final Predicate<String> tickets;
    private final Target target;
    private final Progress progress;

    private HandoffReceiver(Function<String, BaseVm> bases, Predicate<String> tickets, Target target,
                            Progress progress) {
        this.bases = bases;
        this.tickets = tickets;
        this.target = target;
        this.progress = progress;
    }

    /**
     * Serves one handoff connection. {@code tickets} accepts the ticket the sender presents (and
     * should accept it once only); {@code bases} finds a base VM by id, or returns null.
     */
    public static Result receive(Function<String, BaseVm> bases, Predicate<String> tickets, Target target,
                                 InputStream in, OutputStream out, Progress progress) throws IOException {
        return new HandoffReceiver(bases, tickets, target, progress).run(new DataInputStream(in),
                new DataOutputStream(out));
    }

    private Result run(DataInputStream in, DataOutputStream out) throws IOException {
        String ticket = readGreeting(in);
        if (!tickets.test(ticket)) {
            Wire.writeError(out, "the handoff ticket is not valid here (unknown, used or expired)");
            throw new HandoffException("a sender presented a handoff ticket that is not valid");
        }
        Wire.write(out, Wire.WELCOME, new byte[0]);
        HandoffSender.Hello hello = Wire.expect(in, Wire.HELLO).json(HandoffSender.Hello.class);
        BaseVm base = bases.apply(hello.baseId());
        if (base == null) {
            Wire.writeError(out, "this cloudlet does not hold base VM " + hello.baseId());
            throw new HandoffException("the sender's VM runs on base VM " + hello.baseId() + ", which is not here");
        }
        if (hello.diskSize() != base.manifest().disk().size() || hello.memorySize() != base.manifest().memory().size()) {
            Wire.writeError(out, "image sizes differ from base VM " + hello.baseId());
            throw new InvalidArtifactException("the sender's image sizes differ from base VM " + hello.baseId());
        }
        ReceivingImages images = null;
        try {
            Files files = target.prepare(base, hello.launchState());
            images = new ReceivingImages(base, files.disk(), files.memory());
            target.imagesCreated();
            images.open();
            Wire.write(out, Wire.ACCEPT, new byte[0]);
            Result result = apply(in, images);
            Wire.writeJson(out, Wire.RESUMED, new HandoffSender.ResumeReply(result.network().toNanos()));
            return result;
        } catch (IOException | RuntimeException e) {
            Wire.writeError(out, "the receiver gave up: " + e.getMessage());
            closeQuietly(images, e);
            images = null;
            target.discard(e);
            throw e;
        } finally {
            closeQuietly(images, null);
        }
    }

    private Result apply(DataInputStream in, ReceivingImages images) throws IOException {
        int passes = 0;
        long items = 0;
        byte[] deviceState = null;
        while (true) {
            Wire.Frame frame = Wire.read(in);
            switch (frame.type()) {
                case Wire.BATCH -> items += applyBatch(Link.decompress(frame.payload()), images);
                case Wire.PASS_END -> {
                    HandoffSender.PassEnd end = frame.json(HandoffSender.PassEnd.class);
                    passes = end.pass();
                    progress.report(end.live() ? "pass " + end.pass() : "final pass", -1);
                }
                case Wire.STATE -> deviceState = Link.decompress(frame.payload());
                case Wire.COMMIT -> {
                    if (deviceState == null) {
                        throw new InvalidArtifactException("the sender committed without a device state");
                    }
                    long committed = System.nanoTime();
                    images.finish();
                    progress.report("resume", -1);
                    target.resume(deviceState);
                    long running = System.nanoTime();
                    target.attachNetwork();
                    return new Result(passes, items, Duration.ofNanos(running - committed),
                            Duration.ofNanos(System.nanoTime() - running));
                }
                case Wire.ERROR -> throw new HandoffException("the sender gave up: " + frame.text());
                default -> throw new InvalidArtifactException("unexpected handoff frame " + frame.type());
            }
        }
    }

    private static long applyBatch(byte[] batch, ReceivingImages images) throws IOException {
        ByteBuffer items = ByteBuffer.wrap(batch);
        ByteBuffer chunk = ByteBuffer.allocate(Chunks.SIZE);
        byte[] zero = new byte[Chunks.SIZE];
        long count = 0;
        try {
            while (items.hasRemaining()) {
                int opcode = items.get() & 0xff;
                ImageKind image = (opcode & 1) == 1 ? ImageKind.MEMORY : ImageKind.DISK;
                long target = Integer.toUnsignedLong(items.getInt());
                switch (opcode >>> 1) {
                    case Wire.ZERO -> images.write(image, target, ByteBuffer.wrap(zero));
                    case Wire.BASE, Wire.SELF -> {
                        ImageKind from = items.get() == 1 ? ImageKind.MEMORY : ImageKind.DISK;
                        long fromChunk = Integer.toUnsignedLong(items.getInt());
                        chunk.clear();
                        if (opcode >>> 1 == Wire.BASE) {
                            images.readBase(from, fromChunk, chunk);
                        } else {
                            images.read(from, fromChunk, chunk);
                        }
                        images.write(image, target, chunk.flip());
                    }
                    case Wire.RAW -> {
                        int at = items.position();
                        images.write(image, target, ByteBuffer.wrap(batch, at, Chunks.SIZE));
                        items.position(at + Chunks.SIZE);
                    }
                    default -> throw new InvalidArtifactException("unknown handoff item " + opcode);
                }
                count++;
            }
        } catch (java.nio.BufferUnderflowException | IndexOutOfBoundsException | IllegalArgumentException e) {
            throw new InvalidArtifactException("handoff batch is truncated", e);
        }
        return count;
    }

    private static String readGreeting(DataInputStream in) throws IOException {
        byte[] magic = new byte[Wire.MAGIC.length];
        in.readFully(magic);
        if (!Arrays.equals(magic, Wire.MAGIC)) {
            throw new InvalidArtifactException("the peer does not speak the handoff protocol");
        }
        int version = in.readUnsignedShort();
        if (version != Wire.VERSION) {
            throw new InvalidArtifactException("handoff protocol version " + version + " is not supported");
        }
        int length = in.readUnsignedShort();
        if (length == 0 || length > Wire.MAX_TICKET) {
            throw new InvalidArtifactException("handoff ticket of " + length + " bytes");
        }
        byte[] ticket = new byte[length];
        in.readFully(ticket);
        return new String(ticket, StandardCharsets.UTF_8);
    }

    private static void closeQuietly(ReceivingImages images, Exception cause) {
        if (images == null) {
            return;
        }
        try {
            images.close();
        } catch (IOException e) {
            if (cause != null) {
                cause.addSuppressed(e);
            }
        }
    }
}
