package io.cloudlet.handoff;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.client.JdkClientHttpRequestFactory;
import org.springframework.web.client.HttpStatusCodeException;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestClientException;

/**
 * The destination cloudlet, through its public API and with the caller's token there: the same
 * Keystone-fronted Nova and Glance APIs any OpenStack client uses. The token lives only in this
 * object, for the length of one handoff.
 */
final class Destination {

    /** The destination refused or failed; the message is meant for the user. */
    static final class Refused extends RuntimeException {
        Refused(String message) {
            super(message);
        }
    }

    /** A server created to receive the VM, and the one-time ticket for its agent. */
    record Receiving(String serverId, String ticket) {
    }

    private final String url;
    private final RestClient rest;

    Destination(RestClient.Builder builder, String url, String token) {
        this.url = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
        JdkClientHttpRequestFactory requests = new JdkClientHttpRequestFactory(java.net.http.HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(5)).build());
        requests.setReadTimeout(Duration.ofSeconds(30));
        this.rest = builder.clone().baseUrl(this.url).requestFactory(requests)
                .defaultHeader("X-Auth-Token", token).build();
    }

    /** Fails unless the destination knows flavor {@code flavorId} (flavors follow from the base VMs held). */
    void checkFlavor(String flavorId) {
        call("checking flavor " + flavorId, () -> rest.get().uri("/v2.1/flavors/{id}", flavorId).retrieve()
                .body(JsonNode.class), Map.of(404, "The destination has no flavor " + flavorId
                + " (it does not hold a base VM of that shape)."));
    }

    /** The destination's base_disk image of base VM {@code baseId}. */
    String baseImage(String baseId) {
        JsonNode images = call("looking up base VM " + baseId, () -> rest.get()
                .uri(b -> b.path("/v2/images").queryParam("cloudlet_base_id", baseId).build())
                .retrieve().body(JsonNode.class), Map.of());
        for (JsonNode image : images.path("images")) {
            if ("base_disk".equals(image.path("cloudlet_type").asText())
                    && baseId.equals(image.path("cloudlet_base_id").asText())) {
                return image.path("id").asText();
            }
        }
        throw new Refused("The destination does not hold base VM " + baseId + ".");
    }

    /** Has the destination create a server that waits for the VM. */
    Receiving createReceiving(String name, String imageId, String flavorId, List<Integer> guestPorts) {
        Map<String, Object> metadata = new LinkedHashMap<>();
        metadata.put("cloudlet:handoff", "receive");
        metadata.put("cloudlet_ports", guestPorts.stream().map(String::valueOf).collect(Collectors.joining(",")));
        JsonNode created = call("creating the receiving server", () -> rest.post().uri("/v2.1/servers")
                .body(Map.of("server", Map.of("name", name, "imageRef", imageId, "flavorRef", flavorId,
                        "metadata", metadata)))
                .retrieve().body(JsonNode.class), Map.of());
        JsonNode server = created.path("server");
        String ticket = server.path("cloudlet:handoff_ticket").asText(null);
        if (ticket == null) {
            throw new Refused("The destination at " + url + " does not support receiving handoffs.");
        }
        return new Receiving(server.path("id").asText(), ticket);
    }

    /** The receiving server as the destination shows it. */
    JsonNode server(String serverId) {
        return call("reading server " + serverId, () -> rest.get().uri("/v2.1/servers/{id}", serverId).retrieve()
                .body(JsonNode.class), Map.of()).path("server");
    }

    /** Deletes a server there; a server that is gone already is fine. */
    void delete(String serverId) {
        try {
            rest.delete().uri("/v2.1/servers/{id}", serverId).retrieve().toBodilessEntity();
        } catch (HttpStatusCodeException e) {
            if (e.getStatusCode().value() != 404) {
                throw new Refused("Deleting server " + serverId + " at the destination answered HTTP "
                        + e.getStatusCode().value() + ".");
            }
        } catch (RestClientException e) {
            throw new Refused("Deleting server " + serverId + " at the destination failed: " + e.getMessage());
        }
    }

    private <T> T call(String what, java.util.function.Supplier<T> request, Map<Integer, String> messages) {
        try {
            return request.get();
        } catch (HttpStatusCodeException e) {
            HttpStatusCode status = e.getStatusCode();
            if (status.value() == 401) {
                throw new Refused("The destination at " + url + " does not accept dest_token (HTTP 401).");
            }
            String known = messages.get(status.value());
            throw new Refused(known != null ? known : "The destination at " + url + " refused " + what
                    + " (HTTP " + status.value() + "): " + fault(e));
        } catch (RestClientException e) {
            throw new Refused("The destination at " + url + " cannot be reached (" + what + "): " + e.getMessage());
        }
    }

    private static String fault(HttpStatusCodeException e) {
        JsonNode body = e.getResponseBodyAs(JsonNode.class);
        if (body == null) {
            return e.getStatusText();
        }
        for (JsonNode value : body) {
            if (value.has("message")) {
                return value.get("message").asText();
            }
        }
        return body.path("detail").asText(e.getStatusText());
    }

    static String endpointHost(String endpoint) {
        return URI.create("tcp://" + endpoint).getHost();
    }

    static int endpointPort(String endpoint) {
        return URI.create("tcp://" + endpoint).getPort();
    }
}
