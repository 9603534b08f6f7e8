package io.cloudlet.synthesis.nova;

import com.fasterxml.jackson.databind.JsonNode;
import io.cloudlet.synthesis.server.ServerRecord;
import io.cloudlet.synthesis.server.ServerViews;
import io.cloudlet.synthesis.server.Servers;
import jakarta.servlet.http.HttpServletRequest;
import org.slf4j.MDC;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code /v2.1/servers}: create (synthesis when {@code metadata.overlay_url} is given or the image
 * is an overlay, resume of the base VM otherwise), list, show, delete, and the
 * {@code cloudlet-overlay} and {@code cloudlet-handoff} actions.
 */
@RestController
@RequestMapping("/v2.1/servers")
class ServersController {

    private final Servers servers;

    ServersController(Servers servers) {
        this.servers = servers;
    }

    @PostMapping
    ResponseEntity<Map<String, Object>> create(HttpServletRequest request, @RequestBody JsonNode body) {
        Caller caller = Caller.of(request);
        JsonNode server = body == null ? null : body.get("server");
        if (server == null || !server.isObject()) {
            throw NovaException.badRequest("The request body must be {\"server\": {...}}.");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        JsonNode meta = server.path("metadata");
        if (!meta.isMissingNode() && !meta.isNull()) {
            if (!meta.isObject()) {
                throw NovaException.badRequest("server.metadata must be an object of strings.");
            }
            meta.fields().forEachRemaining(e -> {
                if (!e.getValue().isTextual()) {
                    throw NovaException.badRequest("server.metadata." + e.getKey() + " must be a string.");
                }
                metadata.put(e.getKey(), e.getValue().asText());
            });
        }
        Servers.Created result = servers.create(new Servers.CreateRequest(text(server, "name"),
                text(server, "imageRef"), text(server, "flavorRef"), metadata), caller);
        ServerRecord created = result.server();
        MDC.put("server_id", ServerViews.brief(created).get("id").toString());
        Map<String, Object> view = new LinkedHashMap<>(ServerViews.brief(created));
        view.put("OS-DCF:diskConfig", "MANUAL");
        view.put("security_groups", List.of());
        view.put("adminPass", "");
        if (result.handoffTicket() != null) {
            // Shown once: the one-time ticket the sending cloudlet presents to this server's agent.
            view.put("cloudlet:handoff_ticket", result.handoffTicket());
        }
        return ResponseEntity.accepted().location(URI.create("/v2.1/servers/" + view.get("id")))
                .body(Map.of("server", view));
    }

    @GetMapping
    Map<String, Object> list(HttpServletRequest request,
                             @RequestParam(name = "all_tenants", required = false) String allTenants) {
        return Map.of("servers", servers.list(Caller.of(request), allTenants != null).stream()
                .map(ServerViews::brief).toList());
    }

    @GetMapping("/detail")
    Map<String, Object> detail(HttpServletRequest request,
                               @RequestParam(name = "all_tenants", required = false) String allTenants) {
        return Map.of("servers", servers.list(Caller.of(request), allTenants != null).stream()
                .map(ServerViews::detail).toList());
    }

    @GetMapping("/{id}")
    Map<String, Object> show(HttpServletRequest request, @PathVariable String id) {
        return Map.of("server", ServerViews.detail(servers.visible(id, Caller.of(request))));
    }

    @DeleteMapping("/{id}")
    ResponseEntity<Void> delete(HttpServletRequest request, @PathVariable String id) {
        servers.delete(id, Caller.of(request));
        return ResponseEntity.noContent().build();
    }

    /** Server actions; this service implements {@code cloudlet-overlay} and {@code cloudlet-handoff}. */
    @PostMapping("/{id}/action")
    ResponseEntity<Map<String, Object>> action(HttpServletRequest request, @PathVariable String id,
                                               @RequestBody JsonNode body) {
        Caller caller = Caller.of(request);
        if (body == null || !body.isObject() || body.size() != 1) {
            throw NovaException.badRequest("A server action body names exactly one action.");
        }
        String action = body.fieldNames().next();
        if (action.equals("cloudlet-overlay")) {
            String imageId = servers.createOverlay(id, text(body.get(action), "name"), caller);
            return ResponseEntity.accepted().location(URI.create("/v2/images/" + imageId))
                    .body(Map.of("image_id", imageId));
        }
        if (action.equals("cloudlet-handoff")) {
            JsonNode handoff = body.get(action);
            String handoffId = servers.handoff(id, new Servers.HandoffRequest(text(handoff, "handoff_url"),
                    text(handoff, "dest_token"), text(handoff, "dest_vmname"), text(handoff, "handoff_id"),
                    integer(handoff, "max_mbps")), caller);
            return ResponseEntity.accepted().location(URI.create("/v2/cloudlet/handoffs/" + handoffId))
                    .body(Map.of("handoff", Map.of("id", handoffId, "server_id", id)));
        }
        servers.visible(id, caller);
        throw NovaException.badRequest("Unsupported server action '" + action + "'.");
    }

    private static Integer integer(JsonNode node, String field) {
        JsonNode value = node == null ? null : node.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isInt()) {
            throw NovaException.badRequest("'" + field + "' must be an integer.");
        }
        return value.asInt();
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node == null ? null : node.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isTextual()) {
            throw NovaException.badRequest("'" + field + "' must be a string.");
        }
        return value.asText();
    }
}
