package io.cloudlet.synthesis;

import org.springframework.boot.context.properties.ConfigurationProperties;

import java.net.URI;
import java.time.Duration;

/**
 * Settings of the synthesis service.
 *
 * @param imageServiceUrl      internal base URL of the image service
 * @param agentImageServiceUrl the image service's URL as compute agents reach it (base VM packages,
 *                             overlay images); the same as {@code imageServiceUrl} unless agents
 *                             sit on another network
 * @param agentTimeout         an agent whose last heartbeat is older than this is taken as dead
 * @param handoffServiceUrl    internal base URL of the handoff service
 */
@ConfigurationProperties("cloudlet.synthesis")
public record SynthesisProperties(URI imageServiceUrl, URI agentImageServiceUrl, Duration agentTimeout,
                                  URI handoffServiceUrl) {

    public SynthesisProperties {
        imageServiceUrl = imageServiceUrl == null ? URI.create("http://127.0.0.1:9292") : imageServiceUrl;
        agentImageServiceUrl = agentImageServiceUrl == null ? imageServiceUrl : agentImageServiceUrl;
        agentTimeout = agentTimeout == null ? Duration.ofSeconds(10) : agentTimeout;
        handoffServiceUrl = handoffServiceUrl == null ? URI.create("http://127.0.0.1:8776") : handoffServiceUrl;
    }
}
