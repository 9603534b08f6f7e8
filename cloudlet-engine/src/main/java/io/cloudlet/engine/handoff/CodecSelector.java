package io.cloudlet.engine.handoff;

import java.util.ArrayList;
import java.util.List;

/**
 * Chooses the codec for the next batch so as to deliver the most original bytes per second. For
 * every candidate it keeps an estimate of compression speed (original bytes per second of one
 * thread) and ratio (compressed / original), and it estimates the link's speed from how fast
 * compressed bytes leave. Compression and sending overlap, so a candidate delivers
 * {@code min(speed, link / ratio)} original bytes per second; the best of those wins.
 *
 * <p>Estimates come from the batches themselves, and from probes: the first batch is compressed
 * with every candidate, and then every {@link #PROBE_INTERVAL}th batch with one other candidate in
 * turn, so that the choice follows changes in the data and in the link. Estimates are
 * exponentially weighted so that recent batches count most.
 */
public final class CodecSelector {

    static final int PROBE_INTERVAL = 8;
    private static final double WEIGHT = 0.3;
    private static final double LINK_WINDOW = 4 << 20;

    private final List<CodecChoice> candidates;
    private final double[] speed;
    private final double[] ratio;
    private double link = Double.NaN;
    private double windowBytes;
    private double windowNanos;
    private int batches;
    private int nextProbe;

    public CodecSelector(List<CodecChoice> candidates) {
        if (candidates.isEmpty()) {
            throw new IllegalArgumentException("at least one codec is needed");
        }
        this.candidates = List.copyOf(candidates);
        this.speed = new double[candidates.size()];
        this.ratio = new double[candidates.size()];
        java.util.Arrays.fill(speed, Double.NaN);
        java.util.Arrays.fill(ratio, Double.NaN);
    }

    public List<CodecChoice> candidates() {
        return candidates;
    }

    /** The candidates to try on a sample of the next batch besides the chosen one (often none). */
    public List<CodecChoice> probes() {
        int batch = batches++;
        if (batch == 0) {
            return candidates;
        }
        if (candidates.size() == 1 || batch % PROBE_INTERVAL != 0) {
            return List.of();
        }
        CodecChoice current = choose();
        List<CodecChoice> others = new ArrayList<>(candidates);
        others.remove(current);
        return List.of(others.get(nextProbe++ % others.size()));
    }

    /** Records compressing {@code original} bytes to {@code compressed} bytes in {@code nanos}. */
    public void compressed(CodecChoice choice, long original, long compressed, long nanos) {
        if (original <= 0) {
            return;
        }
        int index = candidates.indexOf(choice);
        if (index < 0) {
            return;
        }
        speed[index] = blend(speed[index], original * 1e9 / Math.max(nanos, 1_000));
        ratio[index] = blend(ratio[index], Math.max(compressed, 1) / (double) original);
    }

    /**
     * Records that {@code bytes} went onto the link in {@code nanos}. The link estimate weighs
     * frames by size, over roughly the last {@link #LINK_WINDOW} bytes, so that small frames that
     * fit in buffers do not make the link look faster than it is.
     */
    public void sent(long bytes, long nanos) {
        windowBytes += bytes;
        windowNanos += Math.max(nanos, 1_000);
        if (windowBytes > LINK_WINDOW) {
            windowBytes /= 2;
            windowNanos /= 2;
        }
        link = windowBytes * 1e9 / windowNanos;
    }

    /** The candidate with the highest estimated delivery rate; unmeasured ones are not chosen. */
    public CodecChoice choose() {
        int best = 0;
        double bestRate = -1;
        for (int i = 0; i < candidates.size(); i++) {
            double rate = rate(i);
            if (rate > bestRate) {
                best = i;
                bestRate = rate;
            }
        }
        return candidates.get(best);
    }

    /** Estimated original bytes per second that {@code choice} delivers; NaN while unmeasured. */
    public double rate(CodecChoice choice) {
        return rate(candidates.indexOf(choice));
    }

    /** Estimated link speed in bytes per second; NaN until something was sent. */
    public double linkBytesPerSecond() {
        return link;
    }

    private double rate(int index) {
        if (Double.isNaN(speed[index])) {
            return Double.NaN;
        }
        double delivered = Double.isNaN(link) ? Double.POSITIVE_INFINITY : link / ratio[index];
        return Math.min(speed[index], delivered);
    }

    private static double blend(double old, double sample) {
        return Double.isNaN(old) ? sample : old + WEIGHT * (sample - old);
    }
}
