package io.cloudlet.handoff;

import jakarta.servlet.http.HttpServletRequest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

/**
 * Handoffs: {@code /v2/cloudlet/handoffs} for users (through the gateway, which sets the identity
 * headers), and {@code /internal/handoffs}, where the synthesis service starts them (not routed by
 * the gateway).
 */
@RestController
class HandoffsController {

    private final Orchestrator orchestrator;
    private final HandoffRepository handoffs;

    HandoffsController(Orchestrator orchestrator, HandoffRepository handoffs) {
        this.orchestrator = orchestrator;
        this.handoffs = handoffs;
    }

    @PostMapping("/internal/handoffs")
    ResponseEntity<Map<String, Object>> start(@RequestBody Orchestrator.Start start) {
        if (start.serverId() == null || start.hostId() == null || start.baseId() == null || start.flavorId() == null
                || start.handoffUrl() == null || start.destToken() == null || start.destVmName() == null
                || start.projectId() == null) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "A handoff needs serverId, projectId, hostId, baseId, "
                    + "flavorId, handoffUrl, destToken and destVmName.");
        }
        Orchestrator.Start complete = start.guestPorts() == null ? new Orchestrator.Start(start.handoffId(),
                start.serverId(), start.projectId(), start.hostId(), start.baseId(), start.flavorId(), List.of(80),
                start.handoffUrl(), start.destToken(), start.destVmName(), start.linkBytesPerSecond()) : start;
        return ResponseEntity.accepted().body(Map.of("handoff", view(orchestrator.start(complete))));
    }

    @GetMapping("/v2/cloudlet/handoffs")
    Map<String, Object> list(HttpServletRequest request) {
        String project = project(request);
        return Map.of("handoffs", handoffs.findByProjectIdOrderByCreatedAtDesc(project).stream()
                .map(HandoffsController::view).toList());
    }

    @GetMapping("/v2/cloudlet/handoffs/{id}")
    Map<String, Object> show(HttpServletRequest request, @PathVariable String id) {
        String project = project(request);
        boolean admin = String.valueOf(request.getHeader("X-Roles")).contains("admin");
        HandoffRecord record;
        try {
            record = handoffs.findById(UUID.fromString(id)).orElse(null);
        } catch (IllegalArgumentException e) {
            record = null;
        }
        if (record == null || !(admin || record.projectId.equals(project))) {
            throw new ApiException(HttpStatus.NOT_FOUND, "Handoff " + id + " could not be found.");
        }
        return Map.of("handoff", view(record));
    }

    private static String project(HttpServletRequest request) {
        String project = request.getHeader("X-Project-Id");
        if (project == null || project.isBlank()) {
            throw new ApiException(HttpStatus.UNAUTHORIZED, "Authentication required (no project scope).");
        }
        return project;
    }

    static Map<String, Object> view(HandoffRecord r) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("id", r.id.toString());
        view.put("server_id", r.serverId);
        view.put("state", r.state.name().toLowerCase(java.util.Locale.ROOT));
        view.put("phase", r.phase);
        view.put("progress", r.progress);
        view.put("destination_url", r.destinationUrl);
        view.put("destination_name", r.destinationName);
        view.put("destination_server_id", r.destinationServerId);
        view.put("message", r.message);
        view.put("bytes", r.bytes);
        view.put("passes", r.passes);
        view.put("total_ms", r.totalMillis);
        view.put("downtime_ms", r.downtimeMillis);
        view.put("created_at", r.createdAt.toString());
        view.put("updated_at", r.updatedAt.toString());
        return view;
    }
}
