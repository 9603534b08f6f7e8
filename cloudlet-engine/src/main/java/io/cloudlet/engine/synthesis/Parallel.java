package io.cloudlet.engine.synthesis;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** Runs a loop over {@code [0, count)} on several threads, each taking every n-th index. */
final class Parallel {

    /** The body of the loop. */
    @FunctionalInterface
    interface Body {
        void run(long index) throws IOException;
    }

    private Parallel() {
    }

    static void forEach(long count, int threads, Body body) throws IOException {
        int workers = (int) Math.max(1, Math.min(threads, count));
        ExecutorService pool = Executors.newFixedThreadPool(workers);
        try {
            List<Future<Void>> stripes = new ArrayList<>();
            for (int t = 0; t < workers; t++) {
                long first = t;
                stripes.add(pool.submit(() -> {
                    for (long index = first; index < count; index += workers) {
                        body.run(index);
                    }
                    return null;
                }));
            }
            for (Future<Void> stripe : stripes) {
                stripe.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IOException(e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }
}
