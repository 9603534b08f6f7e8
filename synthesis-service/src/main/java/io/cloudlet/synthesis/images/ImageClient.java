package io.cloudlet.synthesis.images;

import com.fasterxml.jackson.databind.JsonNode;
import io.cloudlet.synthesis.SynthesisProperties;
import io.cloudlet.synthesis.nova.Caller;
import io.cloudlet.synthesis.nova.NovaException;
import org.springframework.http.MediaType;
import org.springframework.http.client.JdkClientHttpRequestFactory;
import org.springframework.stereotype.Component;
import org.springframework.web.client.HttpClientErrorException;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestClientException;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The parts of the image service the servers API needs. */
@Component
public class ImageClient {

    /** An image record: its type, base VM and status. */
    public record Image(String id, String name, String type, String baseId, String status) {
    }

    /** A base VM: its shape (the flavor it defines) and where agents fetch its package. */
    public record Base(String baseId, String name, int vcpus, int memoryMib, long diskBytes, String baseDiskImageId) {
    }

    /** The image service could not be reached or failed. */
    public static class Unavailable extends RuntimeException {
        Unavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final RestClient rest;
    private final URI agentBase;

    ImageClient(RestClient.Builder builder, SynthesisProperties properties) {
        this.agentBase = properties.agentImageServiceUrl();
        JdkClientHttpRequestFactory requests = new JdkClientHttpRequestFactory(java.net.http.HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(3)).build());
        requests.setReadTimeout(Duration.ofSeconds(30));
        this.rest = builder.baseUrl(properties.imageServiceUrl().toString()).requestFactory(requests).build();
    }

    public Optional<Image> image(String id, Caller caller) {
        try {
            JsonNode node = rest.get().uri("/v2/images/{id}", id).headers(h -> caller.forward(h::add))
                    .retrieve().body(JsonNode.class);
            return Optional.of(new Image(node.path("id").asText(), node.path("name").asText(),
                    node.path("cloudlet_type").asText(), node.path("cloudlet_base_id").asText(null),
                    node.path("status").asText()));
        } catch (HttpClientErrorException.NotFound e) {
            return Optional.empty();
        } catch (RestClientException e) {
            throw new Unavailable("the image service failed: " + e.getMessage(), e);
        }
    }

    public List<Base> bases(Caller caller) {
        try {
            JsonNode node = rest.get().uri("/v2/cloudlet/bases").headers(h -> caller.forward(h::add))
                    .retrieve().body(JsonNode.class);
            List<Base> bases = new ArrayList<>();
            for (JsonNode b : node.path("bases")) {
                bases.add(new Base(b.path("base_id").asText(), b.path("name").asText(), b.path("vcpus").asInt(),
                        b.path("memory_mib").asInt(), b.path("disk_bytes").asLong(),
                        b.path("images").path("base_disk").asText(null)));
            }
            return bases;
        } catch (RestClientException e) {
            throw new Unavailable("the image service failed: " + e.getMessage(), e);
        }
    }

    /** Registers an empty overlay image owned by the caller's project; returns its id. */
    public String registerOverlay(String name, Caller caller) {
        try {
            JsonNode node = rest.post().uri("/v2/images").headers(h -> caller.forward(h::add))
                    .contentType(MediaType.APPLICATION_JSON)
                    .body(Map.of("name", name, "cloudlet_type", "overlay", "container_format", "bare",
                            "disk_format", "raw"))
                    .retrieve().body(JsonNode.class);
            return node.path("id").asText();
        } catch (HttpClientErrorException e) {
            throw NovaException.badRequest("The image service refused the overlay image: "
                    + e.getResponseBodyAsString());
        } catch (RestClientException e) {
            throw new Unavailable("the image service failed: " + e.getMessage(), e);
        }
    }

    /**
     * Deletes an overlay image that will never get data (its creation failed). Best effort: an
     * image left behind stays {@code queued} and its owner can delete it.
     */
    public void deleteOverlay(String imageId, String projectId) {
        try {
            rest.delete().uri("/v2/images/{id}", imageId).header("X-Project-Id", projectId)
                    .header("X-Roles", "member").retrieve().toBodilessEntity();
        } catch (RestClientException e) {
            org.slf4j.LoggerFactory.getLogger(ImageClient.class).warn("could not delete overlay image {}: {}",
                    imageId, e.getMessage());
        }
    }

    /** Where agents download image {@code id}'s data (on the cloudlet's internal network). */
    public String fileUrl(String imageId) {
        return agentBase.resolve("/v2/images/" + imageId + "/file").toString();
    }

    public String packageUrl(String baseId) {
        return agentBase.resolve("/v2/cloudlet/bases/" + baseId + "/package").toString();
    }
}
