package io.cloudlet.synthesis.nova;

import jakarta.servlet.http.HttpServletRequest;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

import java.util.List;
import java.util.Map;

/** Compute API version discovery, {@code GET /v2.1}. */
@RestController
class VersionsController {

    static final String MAX_MICROVERSION = "2.1";

    @GetMapping({"/v2.1", "/v2.1/"})
    Map<String, Object> version(HttpServletRequest request) {
        return Map.of("version", Map.of(
                "id", "v2.1",
                "status", "CURRENT",
                "version", MAX_MICROVERSION,
                "min_version", "2.1",
                "updated", "2013-07-23T11:33:21Z",
                "links", List.of(Map.of("rel", "self", "href", "/v2.1/")),
                "media-types", List.of(Map.of("base", "application/json",
                        "type", "application/vnd.openstack.compute+json;version=2.1"))));
    }
}
