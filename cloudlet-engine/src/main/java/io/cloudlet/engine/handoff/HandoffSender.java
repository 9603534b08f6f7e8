package io.cloudlet.engine.handoff;

import io.cloudlet.engine.basevm.BaseVm;
import io.cloudlet.engine.image.ChunkIndex;
import io.cloudlet.engine.image.Chunks;
import io.cloudlet.engine.image.HashList;
import io.cloudlet.engine.image.ImageKind;
import io.cloudlet.engine.image.ImageReader;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.DigestException;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.openhft.hashing.LongTupleHashFunction;

/**
 * Sends a running VM to a {@link HandoffReceiver}: what its disk and memory hold that the
 * receiver does not have yet, in passes. The receiver starts from the base VM, so the first pass
 * sends every chunk that differs from the base; each further pass sends the chunks that changed
 * since they were last sent, found by comparing every chunk's SHA-256 with the one last sent
 * (changes accumulate between passes instead of being sent page by page). Chunks are encoded as
 * overlays encode them: zero, a reference to a base chunk, a reference to a chunk sent earlier in
 * the same pass, or raw content, in batches compressed with the codec {@link CodecSelector} picks.
 *
 * <p>So that a pass costs little where little changed, every chunk also has a 128-bit xxh3
 * fingerprint of what the receiver holds: a chunk whose fingerprint is unchanged is skipped without
 * computing its SHA-256 (chunks are hashed with SHA-256 only when new or changed, which the base
 * index needs). This matters most in the last pass, which runs with the VM paused. An unchanged
 * fingerprint of changed content would need a 128-bit hash collision between two versions of one
 * chunk.
 *
 * <p>When a pass leaves little enough to send, or passes stop shrinking, or the pass limit is
 * reached, the VM is paused, a last pass sends the rest, then its device state; the receiver
 * resumes the VM and answers. Until that answer the VM here is the VM: on any failure it is
 * resumed here ({@link Source#resumeAfterFailure}) and the failure is thrown.
 */
public final class HandoffSender {

    /** What the sender needs of the VM it sends. */
    public interface Source {

        /** A fresh reader of the disk as it is now (copy-on-write metadata may have changed). */
        ImageReader openDisk() throws IOException;

        /** A reader of the guest's RAM as it is now. */
        ImageReader openMemory() throws IOException;

        /** Stops the guest, so that disk and memory hold still. */
        void pause() throws IOException;

        /** The paused guest's device state. */
        byte[] deviceState() throws IOException;

        /** Runs the guest here again after a failed handoff; must not fail if it never paused. */
        void resumeAfterFailure();
    }

    /** Reports progress: a phase ({@code pass 1}, {@code final}...) and a percent, or -1. */
    @FunctionalInterface
    public interface Progress {
        void report(String phase, int percent);

        Progress NONE = (phase, percent) -> {
        };
    }

    /**
     * @param codecs         candidates for {@link CodecSelector}
     * @param maxPasses      passes while the VM runs, at most
     * @param targetDowntime a pass whose changes would take no longer than this to send is the last live one
     * @param batchBytes     original bytes per batch
     */
    public record Options(List<CodecChoice> codecs, int maxPasses, Duration targetDowntime, int batchBytes) {

        public Options {
            codecs = List.copyOf(codecs);
            if (maxPasses < 1) {
                throw new IllegalArgumentException("at least one live pass is needed");
            }
        }

        public static Options defaults() {
            return new Options(CodecChoice.DEFAULTS, 6, Duration.ofMillis(100), 1 << 20);
        }

        public Options withCodecs(List<CodecChoice> choices) {
            return new Options(choices, maxPasses, targetDowntime, batchBytes);
        }
    }

    /**
     * One pass.
     *
     * @param number     1 for the first; the last pass is the one with the VM paused
     * @param live       true while the VM ran during the pass
     * @param items      chunks sent
     * @param rawBytes   chunk content bytes sent (4096 per raw item)
     * @param wireBytes  bytes on the link, framing included
     * @param elapsed    scan and send time
     */
    public record Pass(int number, boolean live, long items, long rawBytes, long wireBytes, Duration elapsed) {
    }

    /**
     * The outcome of a handoff.
     *
     * @param passes       every pass, the paused one last
     * @param wireBytes    all bytes sent, framing included
     * @param total        from connecting to the receiver's answer
     * @param downtime     from pausing the VM here to the VM running at the receiver (the receiver's
     *                     network step after that, and its answer, are left out)
     * @param codecUse     batches sent per codec choice
     * @param linkBytesPerSecond the link speed the sender measured at the end
     */
    public record Report(List<Pass> passes, long wireBytes, Duration total, Duration downtime,
                         Map<String, Integer> codecUse, double linkBytesPerSecond) {
    }

    private static final int RAW_ITEM = 1 + 4 + Chunks.SIZE;
    private static final int SCAN_CHUNKS = 256;

    private final BaseVm base;
    private final Source source;
    private final Options options;
    private final Progress progress;
    private final ChunkIndex baseIndex;
    private final byte[] diskSent;
    private final byte[] memorySent;
    private final byte[] baseDisk;
    private final long[] diskPrints;
    private final long[] memoryPrints;
    private final long[] print = new long[2];
    private final LongTupleHashFunction fingerprint = LongTupleHashFunction.xx128();
    private final long diskChunks;
    private final long memoryChunks;
    private final MessageDigest sha = Chunks.sha256();
    private final byte[] digest = new byte[Chunks.DIGEST_LENGTH];
    private BitSet diskTouched = new BitSet();
    private Link link;

    private HandoffSender(BaseVm base, Source source, Options options, Progress progress) throws IOException {
        this.base = base;
        this.source = source;
        this.options = options;
        this.progress = progress;
        HashList disk = base.diskHashes();
        HashList memory = base.memoryHashes();
        this.baseIndex = new ChunkIndex(disk, memory);
        this.diskChunks = Chunks.count(base.manifest().disk().size());
        this.memoryChunks = Chunks.count(base.manifest().memory().size());
        this.diskSent = digests(disk, diskChunks);
        this.baseDisk = diskSent.clone();
        this.memorySent = digests(memory, memoryChunks);
        // Two longs per chunk; (0, 0) means "not known yet".
        this.diskPrints = new long[Math.toIntExact(diskChunks * 2)];
        this.memoryPrints = new long[Math.toIntExact(memoryChunks * 2)];
    }

    /**
     * Sends the VM over {@code in}/{@code out} (a connection to the receiver) and returns once the
     * receiver reports it running. {@code launchState} is opaque JSON the receiving host needs to
     * define the VM (its NICs, for instance).
     */
    public static Report send(BaseVm base, Source source, String ticket, String launchState, InputStream in,
                              OutputStream out, Options options, Progress progress) throws IOException {
        return new HandoffSender(base, source, options, progress).run(ticket, launchState, in, out);
    }

    private Report run(String ticket, String launchState, InputStream rawIn, OutputStream rawOut) throws IOException {
        long started = System.nanoTime();
        long paused = 0;
        DataInputStream in = new DataInputStream(rawIn);
        DataOutputStream out = new DataOutputStream(rawOut);
        try {
            greet(out, ticket);
            Wire.expect(in, Wire.WELCOME);
            Wire.writeJson(out, Wire.HELLO, new Hello(base.baseId(), base.manifest().disk().size(),
                    base.manifest().memory().size(), launchState));
            Wire.expect(in, Wire.ACCEPT);
            link = new Link(out, new CodecSelector(options.codecs()));
            List<Pass> passes = new ArrayList<>();
            long previous = Long.MAX_VALUE;
            for (int number = 1; ; number++) {
                Pass pass = pass(number, true);
                passes.add(pass);
                if (converged(number, pass.rawBytes(), previous)) {
                    break;
                }
                previous = pass.rawBytes();
            }
            progress.report("final pass", 95);
            source.pause();
            paused = System.nanoTime();
            Pass last = pass(passes.size() + 1, false);
            passes.add(last);
            link.send(Wire.STATE, source.deviceState(), true);
            link.send(Wire.COMMIT, Wire.json(new Commit(passes.size())), false);
            link.drain();
            ResumeReply reply = Wire.expect(in, Wire.RESUMED).json(ResumeReply.class);
            long done = System.nanoTime();
            progress.report("done", 100);
            // The VM ran at the receiver before it attached the network and answered.
            long running = done - Math.max(0, reply.networkNanos());
            return new Report(passes, link.wireBytes(), Duration.ofNanos(done - started),
                    Duration.ofNanos(Math.max(running - paused, 0)), link.codecUse(),
                    link.selector().linkBytesPerSecond());
        } catch (IOException | RuntimeException e) {
            Wire.writeError(out, "the sender gave up: " + e.getMessage());
            source.resumeAfterFailure();
            throw e instanceof HandoffException h ? h : new HandoffException("handoff failed: " + e.getMessage(), e);
        } finally {
            if (link != null) {
                link.close();
            }
        }
    }

    private boolean converged(int number, long rawBytes, long previous) {
        if (number >= options.maxPasses()) {
            return true;
        }
        double rate = link.selector().rate(link.selector().choose());
        double seconds = Double.isNaN(rate) || rate <= 0 ? 0 : rawBytes / rate;
        if (seconds <= options.targetDowntime().toNanos() / 1e9) {
            return true;
        }
        // Passes that no longer shrink will not reach the target: the guest writes as fast as we send.
        return number > 1 && rawBytes > previous * 0.8;
    }

    private static void greet(DataOutputStream out, String ticket) throws IOException {
        byte[] bytes = ticket.getBytes(StandardCharsets.UTF_8);
        if (bytes.length == 0 || bytes.length > Wire.MAX_TICKET) {
            throw new IllegalArgumentException("a handoff ticket has 1 to " + Wire.MAX_TICKET + " bytes");
        }
        out.write(Wire.MAGIC);
        out.writeShort(Wire.VERSION);
        out.writeShort(bytes.length);
        out.write(bytes);
        out.flush();
    }

    private Pass pass(int number, boolean live) throws IOException {
        long started = System.nanoTime();
        long wireBefore = link.wireBytes();
        Batch batch = new Batch(options.batchBytes());
        Map<Key, Long> sentThisPass = new HashMap<>();
        try (ImageReader memory = source.openMemory()) {
            scan(ImageKind.MEMORY, memory, null, memoryChunks, memorySent, memoryPrints, batch, sentThisPass, number,
                    live);
        }
        try (ImageReader disk = source.openDisk()) {
            BitSet changed = disk.changedChunks();
            if (changed != null) {
                // A chunk sent before stays a candidate: with copy-on-write it cannot return to the base.
                changed.or(diskTouched);
            }
            scan(ImageKind.DISK, disk, changed, diskChunks, diskSent, diskPrints, batch, sentThisPass, number, live);
        } catch (IOException e) {
            if (!live) {
                throw e;
            }
            // A live copy-on-write layer may be read mid-update; the paused pass reads it whole.
        }
        batch.flush();
        link.send(Wire.PASS_END, Wire.json(new PassEnd(number, live, batch.items, batch.rawBytes)), false);
        link.drain();
        return new Pass(number, live, batch.items, batch.rawBytes, link.wireBytes() - wireBefore,
                Duration.ofNanos(System.nanoTime() - started));
    }

    private void scan(ImageKind image, ImageReader reader, BitSet candidates, long chunks, byte[] sent, long[] prints,
                      Batch batch, Map<Key, Long> sentThisPass, int number, boolean live) throws IOException {
        byte[] block = new byte[SCAN_CHUNKS * Chunks.SIZE];
        long total = chunks;
        for (long first = 0; first < chunks; first += SCAN_CHUNKS) {
            int count = (int) Math.min(SCAN_CHUNKS, chunks - first);
            if (candidates != null) {
                int next = candidates.nextSetBit((int) first);
                if (next < 0) {
                    break;
                }
                if (next >= first + count) {
                    first = next - next % SCAN_CHUNKS - SCAN_CHUNKS;
                    continue;
                }
            }
            reader.read(first << Chunks.SHIFT, block, 0, count * Chunks.SIZE);
            for (int i = 0; i < count; i++) {
                long chunk = first + i;
                if (candidates != null && !candidates.get((int) chunk)) {
                    continue;
                }
                encode(image, chunk, block, i * Chunks.SIZE, sent, prints, batch, sentThisPass);
            }
            if (image == ImageKind.MEMORY && (first / SCAN_CHUNKS) % 64 == 0) {
                int percent = number == 1 ? (int) (80 * (first + count) / total) : Math.min(94, 80 + 4 * number);
                progress.report(live ? "pass " + number : "final pass", live ? percent : 95);
            }
        }
    }

    private void encode(ImageKind image, long chunk, byte[] block, int offset, byte[] sent, long[] prints, Batch batch,
                        Map<Key, Long> sentThisPass) throws IOException {
        int at = (int) chunk * Chunks.DIGEST_LENGTH;
        int printAt = (int) chunk * 2;
        boolean zero = Chunks.isZero(block, offset);
        if (zero) {
            if (Chunks.isZeroDigest(sent, at)) {
                return;
            }
            HashList.zeroDigestInto(sent, at);
            prints[printAt] = 0;
            prints[printAt + 1] = 0;
            batch.item(Wire.ZERO, image, chunk);
        } else {
            fingerprint.hashBytes(block, offset, Chunks.SIZE, print);
            if (print[0] == prints[printAt] && print[1] == prints[printAt + 1] && (print[0] | print[1]) != 0) {
                return;
            }
            prints[printAt] = print[0];
            prints[printAt + 1] = print[1];
            sha.update(block, offset, Chunks.SIZE);
            try {
                sha.digest(digest, 0, Chunks.DIGEST_LENGTH);
            } catch (DigestException e) {
                throw new IllegalStateException(e);
            }
            if (Arrays.mismatch(sent, at, at + Chunks.DIGEST_LENGTH, digest, 0, Chunks.DIGEST_LENGTH) < 0) {
                return;
            }
            System.arraycopy(digest, 0, sent, at, Chunks.DIGEST_LENGTH);
            ChunkIndex.Location inBase = baseIndex.find(digest, 0);
            Key key = new Key(digest);
            Long earlier = sentThisPass.get(key);
            if (inBase != null) {
                batch.reference(Wire.BASE, image, chunk, inBase.image(), inBase.chunk());
            } else if (earlier != null) {
                batch.reference(Wire.SELF, image, chunk, (earlier & 1) == 1 ? ImageKind.MEMORY : ImageKind.DISK,
                        earlier >>> 1);
            } else {
                batch.raw(image, chunk, block, offset);
                sentThisPass.put(key, chunk << 1 | (image == ImageKind.MEMORY ? 1 : 0));
            }
        }
        if (image == ImageKind.DISK) {
            diskTouched.set((int) chunk, Arrays.mismatch(sent, at, at + Chunks.DIGEST_LENGTH,
                    baseDisk, at, at + Chunks.DIGEST_LENGTH) >= 0);
        }
    }

    private static byte[] digests(HashList list, long chunks) {
        byte[] digests = new byte[Math.toIntExact(chunks * Chunks.DIGEST_LENGTH)];
        for (long chunk = 0; chunk < chunks; chunk++) {
            list.copyDigest(chunk, digests, (int) chunk * Chunks.DIGEST_LENGTH);
        }
        return digests;
    }

    /** A digest as a hash key. */
    private record Key(byte[] digest) {

        Key {
            digest = digest.clone();
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Key key && Arrays.equals(digest, key.digest);
        }

        @Override
        public int hashCode() {
            return (digest[0] & 0xff) << 24 | (digest[1] & 0xff) << 16 | (digest[2] & 0xff) << 8 | (digest[3] & 0xff);
        }
    }

    /** Items of one batch being collected; full batches go to the link. */
    private final class Batch {

        private final ByteArrayOutputStream buffer;
        private final DataOutputStream data;
        private final int limit;
        long items;
        long rawBytes;

        Batch(int limit) {
            this.limit = limit;
            this.buffer = new ByteArrayOutputStream(limit + RAW_ITEM);
            this.data = new DataOutputStream(buffer);
        }

        void item(int kind, ImageKind image, long chunk) throws IOException {
            data.writeByte(opcode(kind, image));
            data.writeInt((int) chunk);
            added();
        }

        void reference(int kind, ImageKind image, long chunk, ImageKind from, long fromChunk) throws IOException {
            data.writeByte(opcode(kind, image));
            data.writeInt((int) chunk);
            data.writeByte(from == ImageKind.MEMORY ? 1 : 0);
            data.writeInt((int) fromChunk);
            added();
        }

        void raw(ImageKind image, long chunk, byte[] block, int offset) throws IOException {
            data.writeByte(opcode(Wire.RAW, image));
            data.writeInt((int) chunk);
            data.write(block, offset, Chunks.SIZE);
            rawBytes += Chunks.SIZE;
            added();
        }

        private void added() throws IOException {
            items++;
            if (buffer.size() >= limit) {
                flush();
            }
        }

        void flush() throws IOException {
            if (buffer.size() > 0) {
                link.send(Wire.BATCH, buffer.toByteArray(), true);
                buffer.reset();
            }
        }

        private static int opcode(int kind, ImageKind image) {
            return kind << 1 | (image == ImageKind.MEMORY ? 1 : 0);
        }
    }

    record Hello(String baseId, long diskSize, long memorySize, String launchState) {
    }

    record PassEnd(int pass, boolean live, long items, long rawBytes) {
    }

    record Commit(int passes) {
    }

    /** The receiver's answer; {@code networkNanos}: how long it took to attach the network after the VM ran. */
    record ResumeReply(long networkNanos) {
    }
}
