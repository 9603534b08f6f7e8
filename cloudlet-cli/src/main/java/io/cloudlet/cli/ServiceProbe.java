package io.cloudlet.cli;

import io.cloudlet.agent.AgentException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * Waits until a guest's forwarded service answers HTTP. A TCP connect is not enough: QEMU user
 * networking accepts host connections before the guest can take them, so only a response counts.
 * Attempts start with a short timeout that doubles up to 4 s: a connection made in the fraction
 * of a second before the guest's fresh NIC has its address stalls inside QEMU's user network
 * stack until its retransmission timer fires (several seconds), while a new connection made a
 * moment later is answered at once.
 */
final class ServiceProbe {

    private ServiceProbe() {
    }

    /** Polls {@code url} until it answers with any HTTP status; returns that status line. */
    static String awaitHttp(String url, Duration timeout) {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        long deadline = System.nanoTime() + timeout.toNanos();
        long attemptMillis = 250;
        while (true) {
            HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofMillis(attemptMillis))
                    .GET().build();
            attemptMillis = Math.min(4000, attemptMillis * 2);
            try {
                HttpResponse<Void> response = client.send(request, HttpResponse.BodyHandlers.discarding());
                return "HTTP " + response.statusCode();
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw new AgentException(AgentException.Reason.FAILED, url + " did not answer within "
                            + timeout.toSeconds() + " s");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AgentException(AgentException.Reason.FAILED, "interrupted while waiting for " + url);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AgentException(AgentException.Reason.FAILED, "interrupted while waiting for " + url);
            }
        }
    }
}
