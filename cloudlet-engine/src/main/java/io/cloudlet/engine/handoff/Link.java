package io.cloudlet.engine.handoff;

import io.cloudlet.engine.overlay.Codec;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;

/**
 * The sending side of the connection: a thread that compresses and writes frames while the
 * caller scans for the next ones, with at most two frames waiting. A compressed frame's payload
 * is {@code codec (1), level (1), original length (4), CRC-32C of the original (4), data}.
 */
final class Link implements AutoCloseable {

    private static final int PROBE_SAMPLE = 256 * 1024;
    private static final Outgoing STOP = new Outgoing((byte) 0, new byte[0], false);

    private record Outgoing(byte type, byte[] payload, boolean compress) {
    }

    private final DataOutputStream out;
    private final CodecSelector selector;
    private final BlockingQueue<Outgoing> queue = new ArrayBlockingQueue<>(2);
    private final AtomicLong wireBytes = new AtomicLong();
    private final Map<String, Integer> codecUse = new LinkedHashMap<>();
    private final Thread writer;
    private final Object idle = new Object();
    private int pending;
    private volatile IOException failure;

    Link(DataOutputStream out, CodecSelector selector) {
        this.out = out;
        this.selector = selector;
        this.writer = new Thread(this::writeLoop, "handoff-link");
        this.writer.setDaemon(true);
        this.writer.start();
    }

    CodecSelector selector() {
        return selector;
    }

    long wireBytes() {
        return wireBytes.get();
    }

    synchronized Map<String, Integer> codecUse() {
        return Map.copyOf(codecUse);
    }

    /** Queues a frame; blocks while two are waiting. */
    void send(byte type, byte[] payload, boolean compress) throws IOException {
        synchronized (idle) {
            pending++;
        }
        Outgoing frame = new Outgoing(type, payload, compress);
        try {
            while (!queue.offer(frame, 100, TimeUnit.MILLISECONDS)) {
                checkFailure();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while sending");
        }
        checkFailure();
    }

    /** Waits until every queued frame is on the link. */
    void drain() throws IOException {
        synchronized (idle) {
            while (pending > 0 && failure == null) {
                try {
                    idle.wait(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while sending");
                }
            }
        }
        checkFailure();
    }

    @Override
    public void close() {
        queue.clear();
        queue.offer(STOP);
        try {
            writer.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void checkFailure() throws IOException {
        if (failure != null) {
            throw new HandoffException("the handoff link failed: " + failure.getMessage(), failure);
        }
    }

    private void writeLoop() {
        try {
            while (true) {
                Outgoing frame = queue.take();
                if (frame == STOP) {
                    return;
                }
                byte[] payload = frame.compress() ? compress(frame.payload()) : frame.payload();
                long started = System.nanoTime();
                Wire.write(out, frame.type(), payload);
                long length = payload.length + 5L;
                selector.sent(length, System.nanoTime() - started);
                wireBytes.addAndGet(length);
                synchronized (idle) {
                    pending--;
                    idle.notifyAll();
                }
            }
        } catch (IOException e) {
            failure = e;
        } catch (RuntimeException e) {
            failure = new IOException(e.toString(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            synchronized (idle) {
                idle.notifyAll();
            }
        }
    }

    private byte[] compress(byte[] original) {
        for (CodecChoice probe : selector.probes()) {
            int length = Math.min(PROBE_SAMPLE, original.length);
            measure(probe, original, length);
        }
        CodecChoice choice = selector.choose();
        byte[] data = measure(choice, original, original.length);
        synchronized (this) {
            codecUse.merge(choice.toString(), 1, Integer::sum);
        }
        ByteBuffer payload = ByteBuffer.allocate(10 + data.length);
        payload.put((byte) codecId(choice.codec())).put((byte) choice.level()).putInt(original.length)
                .putInt(crc(original, original.length)).put(data);
        return payload.array();
    }

    private byte[] measure(CodecChoice choice, byte[] original, int length) {
        long started = System.nanoTime();
        byte[] data = choice.codec().compress(original, length, choice.level());
        selector.compressed(choice, length, data.length, System.nanoTime() - started);
        return data;
    }

    static int codecId(Codec codec) {
        return switch (codec) {
            case NONE -> 0;
            case ZSTD -> 1;
            case XZ -> 2;
        };
    }

    static Codec codecOf(int id) throws io.cloudlet.engine.InvalidArtifactException {
        Codec[] byId = {Codec.NONE, Codec.ZSTD, Codec.XZ};
        if (id < 0 || id >= byId.length) {
            throw new io.cloudlet.engine.InvalidArtifactException("unknown codec " + id + " in a handoff frame");
        }
        return byId[id];
    }

    static byte[] decompress(byte[] payload) throws io.cloudlet.engine.InvalidArtifactException {
        if (payload.length < 10) {
            throw new io.cloudlet.engine.InvalidArtifactException("compressed handoff frame is truncated");
        }
        ByteBuffer header = ByteBuffer.wrap(payload);
        Codec codec = codecOf(header.get());
        header.get();
        int length = header.getInt();
        int crc = header.getInt();
        if (length < 0 || length > Wire.MAX_FRAME) {
            throw new io.cloudlet.engine.InvalidArtifactException("handoff frame claims " + length + " bytes");
        }
        byte[] original = new byte[length];
        codec.decompress(Arrays.copyOfRange(payload, 10, payload.length), original, length);
        if (crc(original, length) != crc) {
            throw new io.cloudlet.engine.InvalidArtifactException("handoff frame fails its CRC-32C check");
        }
        return original;
    }

    /** CRC-32C of a frame's original bytes, checked by the receiver after decompression. */
    private static int crc(byte[] data, int length) {
        CRC32C crc = new CRC32C();
        crc.update(data, 0, length);
        return (int) crc.getValue();
    }
}
