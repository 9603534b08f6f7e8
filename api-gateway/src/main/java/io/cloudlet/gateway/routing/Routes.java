package io.cloudlet.gateway.routing;

import io.cloudlet.gateway.GatewayProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.servlet.function.RouterFunction;
import org.springframework.web.servlet.function.ServerResponse;

import static org.springframework.cloud.gateway.server.mvc.filter.BeforeFilterFunctions.uri;
import static org.springframework.cloud.gateway.server.mvc.handler.GatewayRouterFunctions.route;
import static org.springframework.cloud.gateway.server.mvc.handler.HandlerFunctions.http;
import static org.springframework.web.servlet.function.RequestPredicates.path;

/**
 * The routes: the Compute API ({@code /v2.1}) to the synthesis service, the Image API
 * ({@code /v2}) to the image service, and each service's OpenAPI document. {@link AuthFilter} has
 * already authenticated the call and replaced the identity headers.
 */
@Configuration(proxyBeanMethods = false)
class Routes {

    @Bean
    RouterFunction<ServerResponse> computeRoute(GatewayProperties properties) {
        return route("compute").route(path("/v2.1").or(path("/v2.1/**")).or(path("/openapi/compute")), http())
                .before(uri(properties.synthesisServiceUrl())).build();
    }

    @Bean
    RouterFunction<ServerResponse> imageRoute(GatewayProperties properties) {
        return route("image").route(path("/v2/**").or(path("/openapi/image")), http())
                .before(uri(properties.imageServiceUrl())).build();
    }
}
