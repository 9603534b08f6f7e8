package io.cloudlet.engine.handoff;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;

/**
 * An output stream that lets at most a given rate through, to emulate a slower link in tests and
 * benchmarks. Streams that share one {@link Bucket} share its rate, as connections over one link do.
 */
public final class Throttle extends FilterOutputStream {

    private static final int SLICE = 16 * 1024;

    /** A token bucket holding at most 50 ms of traffic; thread-safe. */
    public static final class Bucket {

        private final double bytesPerNano;
        private final double burst;
        private double tokens;
        private long last = System.nanoTime();

        public Bucket(long bytesPerSecond) {
            if (bytesPerSecond <= 0) {
                throw new IllegalArgumentException("a link rate must be positive");
            }
            this.bytesPerNano = bytesPerSecond / 1e9;
            this.burst = Math.max(SLICE, bytesPerSecond / 20.0);
        }

        /** Blocks until {@code bytes} may pass. */
        public synchronized void take(int bytes) throws InterruptedIOException {
            while (true) {
                long now = System.nanoTime();
                tokens = Math.min(burst, tokens + (now - last) * bytesPerNano);
                last = now;
                if (tokens >= bytes) {
                    tokens -= bytes;
                    return;
                }
                long wait = (long) ((bytes - tokens) / bytesPerNano);
                try {
                    // Holding the lock while waiting keeps senders in line, as a link's queue does.
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while throttling");
                }
            }
        }
    }

    private final Bucket bucket;

    public Throttle(OutputStream out, Bucket bucket) {
        super(out);
        this.bucket = bucket;
    }

    /** Wraps {@code out} when {@code bytesPerSecond} is positive; returns it as it is otherwise. */
    public static OutputStream limit(OutputStream out, long bytesPerSecond) {
        return bytesPerSecond > 0 ? new Throttle(out, new Bucket(bytesPerSecond)) : out;
    }

    @Override
    public void write(int b) throws IOException {
        bucket.take(1);
        out.write(b);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        for (int done = 0; done < len; ) {
            int slice = Math.min(SLICE, len - done);
            bucket.take(slice);
            out.write(b, off + done, slice);
            done += slice;
        }
    }
}
