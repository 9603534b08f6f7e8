package io.cloudlet.cli;

import io.cloudlet.agent.AgentException;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Waits until a guest's forwarded service answers HTTP. A TCP connect is not enough: QEMU user
 * networking accepts host connections before the guest can take them, so only a response counts.
 * A connection made in the fraction of a second before a hot-plugged NIC has its address (NIC
 * mode {@code replace}) stalls inside QEMU's user network stack until its retransmission timer
 * fires (seconds), while one made a moment later is answered at once; so a new attempt starts
 * every 50 ms while earlier ones are still waiting, and the first answer wins.
 *
 * <p>Attempts use {@link HttpURLConnection} on plain threads: in the command's short-lived,
 * C1-only JVM the JDK's {@code java.net.http} client took ~0.8 s to set up, longer than the
 * resumed guest takes to answer.
 */
final class ServiceProbe {

    private static final long ATTEMPT_EVERY_MILLIS = 50;
    private static final int MAX_ATTEMPTS_IN_FLIGHT = 64;
    private static final int CONNECT_TIMEOUT_MILLIS = 2_000;
    private static final int READ_TIMEOUT_MILLIS = 10_000;

    private ServiceProbe() {
    }

    /**
     * Polls {@code url} until it answers with any HTTP status; returns {@code "HTTP <status>"}.
     *
     * @throws AgentException (FAILED) when nothing answered within {@code timeout} or the wait was interrupted
     */
    static String awaitHttp(String url, Duration timeout) {
        ExecutorService threads = Executors.newCachedThreadPool(runnable -> {
            Thread thread = new Thread(runnable, "service-probe");
            thread.setDaemon(true);
            return thread;
        });
        ExecutorCompletionService<Integer> attempts = new ExecutorCompletionService<>(threads);
        long deadline = System.nanoTime() + timeout.toNanos();
        int inFlight = 0;
        try {
            while (System.nanoTime() < deadline) {
                if (inFlight < MAX_ATTEMPTS_IN_FLIGHT) {
                    attempts.submit(() -> status(url));
                    inFlight++;
                }
                Future<Integer> done;
                while ((done = attempts.poll(ATTEMPT_EVERY_MILLIS, TimeUnit.MILLISECONDS)) != null) {
                    inFlight--;
                    try {
                        return "HTTP " + done.get();
                    } catch (java.util.concurrent.ExecutionException refused) {
                        // Not answering yet: later attempts go on.
                    }
                }
            }
            throw new AgentException(AgentException.Reason.FAILED, url + " did not answer within "
                    + timeout.toSeconds() + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AgentException(AgentException.Reason.FAILED, "interrupted while waiting for " + url);
        } finally {
            threads.shutdownNow();
        }
    }

    private static int status(String url) throws IOException {
        HttpURLConnection connection = (HttpURLConnection) URI.create(url).toURL().openConnection();
        connection.setConnectTimeout(CONNECT_TIMEOUT_MILLIS);
        connection.setReadTimeout(READ_TIMEOUT_MILLIS);
        connection.setUseCaches(false);
        try {
            int status = connection.getResponseCode();
            InputStream body = status >= 400 ? connection.getErrorStream() : connection.getInputStream();
            if (body != null) {
                body.close();
            }
            return status;
        } finally {
            connection.disconnect();
        }
    }
}
