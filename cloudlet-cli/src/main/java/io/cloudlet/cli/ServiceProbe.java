package io.cloudlet.cli;

import io.cloudlet.agent.AgentException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Waits until a guest's forwarded service answers HTTP. A TCP connect is not enough: QEMU user
 * networking accepts host connections before the guest can take them, so only a response counts.
 * A connection made in the fraction of a second before the guest's fresh NIC has its address
 * stalls inside QEMU's user network stack until its retransmission timer fires (seconds), while
 * one made a moment later is answered at once; so a new attempt starts every 50 ms while earlier
 * ones are still waiting, and the first answer wins.
 */
final class ServiceProbe {

    private static final long ATTEMPT_EVERY_MILLIS = 50;

    private ServiceProbe() {
    }

    /** Polls {@code url} until it answers with any HTTP status; returns that status line. */
    static String awaitHttp(String url, Duration timeout) {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).GET().build();
        long deadline = System.nanoTime() + timeout.toNanos();
        List<CompletableFuture<HttpResponse<Void>>> attempts = new ArrayList<>();
        try {
            while (System.nanoTime() < deadline) {
                attempts.removeIf(CompletableFuture::isCompletedExceptionally);
                for (CompletableFuture<HttpResponse<Void>> attempt : attempts) {
                    if (attempt.isDone()) {
                        return "HTTP " + attempt.join().statusCode();
                    }
                }
                if (attempts.size() < 64) {
                    attempts.add(client.sendAsync(request, HttpResponse.BodyHandlers.discarding()));
                }
                Thread.sleep(ATTEMPT_EVERY_MILLIS);
            }
            throw new AgentException(AgentException.Reason.FAILED, url + " did not answer within "
                    + timeout.toSeconds() + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AgentException(AgentException.Reason.FAILED, "interrupted while waiting for " + url);
        } finally {
            attempts.forEach(attempt -> attempt.cancel(true));
        }
    }
}
