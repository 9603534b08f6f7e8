package io.cloudlet.engine;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** The engine's two ways of using threads: a striped loop, and waiting for a task's result. */
public final class Concurrency {

    /** The body of a striped loop. */
    @FunctionalInterface
    public interface Body {
        void run(long index) throws IOException;
    }

    private Concurrency() {
    }

    /** Runs {@code body} for every index in {@code [0, count)} on up to {@code threads} threads. */
    public static void forEach(long count, int threads, Body body) throws IOException {
        int workers = (int) Math.max(1, Math.min(threads, count));
        if (workers == 1) {
            for (long index = 0; index < count; index++) {
                body.run(index);
            }
            return;
        }
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
                await(stripe);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * Waits for {@code future} and returns its value, rethrowing the task's own IOException or
     * unchecked exception rather than a wrapper.
     */
    public static <T> T await(Future<T> future) throws IOException {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while waiting for a worker");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error error) {
                throw error;
            }
            throw new IOException(cause);
        }
    }
}
