package io.cloudlet.synthesis.handoff;

import com.fasterxml.jackson.databind.JsonNode;
import io.cloudlet.synthesis.SynthesisProperties;
import io.cloudlet.synthesis.nova.NovaException;
import java.time.Duration;
import java.util.List;
import org.springframework.http.client.JdkClientHttpRequestFactory;
import org.springframework.stereotype.Component;
import org.springframework.web.client.HttpClientErrorException;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestClientException;

/** Starts handoffs at the handoff service, which orchestrates them. */
@Component
public class HandoffClient {

    /**
     * What the handoff service needs to hand a server off. {@code destToken} is passed on and never
     * stored here; {@code linkBytesPerSecond}, when positive, caps the stream's rate.
     */
    public record Start(String handoffId, String serverId, String projectId, String hostId, String baseId,
                        String flavorId, List<Integer> guestPorts, String handoffUrl, String destToken,
                        String destVmName, long linkBytesPerSecond) {

        @Override
        public String toString() {
            return "Start[" + handoffId + ", server " + serverId + " to " + handoffUrl + "]";
        }
    }

    private final RestClient rest;

    HandoffClient(RestClient.Builder builder, SynthesisProperties properties) {
        JdkClientHttpRequestFactory requests = new JdkClientHttpRequestFactory(java.net.http.HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(3)).build());
        requests.setReadTimeout(Duration.ofSeconds(30));
        this.rest = builder.baseUrl(properties.handoffServiceUrl().toString()).requestFactory(requests).build();
    }

    /** Asks the handoff service to start (or, for a known id, to report) a handoff. */
    public void start(Start start) {
        try {
            rest.post().uri("/internal/handoffs").body(start).retrieve().toBodilessEntity();
        } catch (HttpClientErrorException e) {
            JsonNode problem = e.getResponseBodyAs(JsonNode.class);
            String detail = problem == null ? e.getStatusText() : problem.path("detail").asText(e.getStatusText());
            throw new NovaException(e.getStatusCode().value(), e.getStatusCode().value() == 409 ? "conflictingRequest"
                    : "badRequest", detail);
        } catch (RestClientException e) {
            throw new NovaException(503, "serviceUnavailable", "The handoff service is not available: "
                    + e.getMessage());
        }
    }
}
