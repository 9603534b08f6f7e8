package io.cloudlet.gateway;

import org.springframework.boot.context.properties.ConfigurationProperties;

import java.net.URI;
import java.time.Duration;

/**
 * Settings of the gateway.
 *
 * @param synthesisServiceUrl internal URL of the synthesis service (compute API)
 * @param imageServiceUrl     internal URL of the image service
 * @param publicUrl           URL clients reach the gateway at, for the service catalogue; empty: the request's own
 * @param tokenSecret         key that signs tokens (at least 32 characters); empty: a random key per start
 * @param tokenTtl            how long a token is valid
 * @param adminPassword       password of the bootstrap user {@code admin}; empty: no bootstrap
 */
@ConfigurationProperties("cloudlet.gateway")
public record GatewayProperties(URI synthesisServiceUrl, URI imageServiceUrl, String publicUrl, String tokenSecret,
                                Duration tokenTtl, String adminPassword, URI handoffServiceUrl) {

    public GatewayProperties {
        handoffServiceUrl = handoffServiceUrl == null ? URI.create("http://127.0.0.1:8776") : handoffServiceUrl;
    }
}
