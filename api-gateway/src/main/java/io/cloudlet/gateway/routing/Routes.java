package io.cloudlet.gateway.routing;

import io.cloudlet.gateway.GatewayProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.MediaType;
import org.springframework.web.client.ResourceAccessException;
import org.springframework.web.servlet.function.RouterFunction;
import org.springframework.web.servlet.function.ServerResponse;

import java.util.Map;

import static org.springframework.cloud.gateway.server.mvc.filter.BeforeFilterFunctions.uri;
import static org.springframework.cloud.gateway.server.mvc.handler.GatewayRouterFunctions.route;
import static org.springframework.cloud.gateway.server.mvc.handler.HandlerFunctions.http;
import static org.springframework.web.servlet.function.RequestPredicates.path;

/**
 * The routes: the Compute API ({@code /v2.1}) to the synthesis service, handoffs
 * ({@code /v2/cloudlet/handoffs}) to the handoff service, the rest of the Image API ({@code /v2})
 * to the image service, and each service's OpenAPI document. {@link AuthFilter} has
 * already authenticated the call and replaced the identity headers. A service that cannot be
 * reached gives 503 in the route's error shape.
 */
@Configuration(proxyBeanMethods = false)
class Routes {

    private static final Logger log = LoggerFactory.getLogger(Routes.class);

    @Bean
    RouterFunction<ServerResponse> computeRoute(GatewayProperties properties) {
        return route("compute").route(path("/v2.1").or(path("/v2.1/**")).or(path("/openapi/compute")), http())
                .before(uri(properties.synthesisServiceUrl()))
                .onError(ResourceAccessException.class, (e, request) -> {
                    log.warn("compute service unreachable: {}", e.getMessage());
                    return ServerResponse.status(503).contentType(MediaType.APPLICATION_JSON)
                            .body(Map.of("serviceUnavailable", Map.of("code", 503,
                                    "message", "The compute service is unavailable; try again later.")));
                })
                .build();
    }

    /** Ordered before {@link #imageRoute}, whose {@code /v2/**} would take handoff paths too. */
    @Bean
    @org.springframework.core.annotation.Order(0)
    RouterFunction<ServerResponse> handoffRoute(GatewayProperties properties) {
        return route("handoff").route(path("/v2/cloudlet/handoffs").or(path("/v2/cloudlet/handoffs/**"))
                        .or(path("/openapi/handoff")), http())
                .before(uri(properties.handoffServiceUrl()))
                .onError(ResourceAccessException.class, (e, request) -> {
                    log.warn("handoff service unreachable: {}", e.getMessage());
                    return ServerResponse.status(503).contentType(MediaType.APPLICATION_PROBLEM_JSON)
                            .body(Map.of("type", "about:blank", "title", "Service Unavailable", "status", 503,
                                    "detail", "The handoff service is unavailable; try again later."));
                })
                .build();
    }

    @Bean
    @org.springframework.core.annotation.Order(1)
    RouterFunction<ServerResponse> imageRoute(GatewayProperties properties) {
        return route("image").route(path("/v2/**").or(path("/openapi/image")), http())
                .before(uri(properties.imageServiceUrl()))
                .onError(ResourceAccessException.class, (e, request) -> {
                    log.warn("image service unreachable: {}", e.getMessage());
                    return ServerResponse.status(503).contentType(MediaType.APPLICATION_PROBLEM_JSON)
                            .body(Map.of("type", "about:blank", "title", "Service Unavailable", "status", 503,
                                    "detail", "The image service is unavailable; try again later."));
                })
                .build();
    }
}
