package io.cloudlet.synthesis.server;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Servers in Nova's JSON shape. Cloudlet additions: the forwarded ports ({@code cloudlet:ports})
 * and the guest's first service endpoint, which also appears in the metadata as
 * {@code cloudlet_endpoint} so that clients that show only metadata see it.
 */
public final class ServerViews {

    private static final ObjectMapper JSON = new ObjectMapper();

    private ServerViews() {
    }

    public static Map<String, Object> brief(ServerRecord s) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("id", s.id.toString());
        view.put("name", s.name);
        view.put("links", links(s));
        return view;
    }

    public static Map<String, Object> detail(ServerRecord s) {
        List<Map<String, Object>> ports = ports(s);
        String endpoint = ports.isEmpty() || s.address == null ? null : s.address + ":" + ports.get(0).get("host_port");
        Map<String, Object> metadata = new LinkedHashMap<>(metadata(s));
        if (endpoint != null) {
            metadata.put("cloudlet_endpoint", endpoint);
        }
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("id", s.id.toString());
        view.put("name", s.name);
        view.put("status", s.status.name());
        view.put("tenant_id", s.projectId);
        view.put("user_id", s.userId);
        view.put("metadata", metadata);
        view.put("hostId", s.hostId == null ? "" : Integer.toHexString(s.hostId.hashCode()));
        view.put("image", Map.of("id", s.imageRef, "links", List.of()));
        view.put("flavor", Map.of("id", s.flavorId, "links", List.of()));
        view.put("created", s.createdAt.toString());
        view.put("updated", s.updatedAt.toString());
        view.put("addresses", s.address == null ? Map.of() : Map.of("cloudlet", List.of(Map.of(
                "addr", s.address, "version", 4, "OS-EXT-IPS:type", "fixed"))));
        view.put("accessIPv4", s.address == null ? "" : s.address);
        view.put("accessIPv6", "");
        view.put("progress", s.progress);
        view.put("OS-EXT-STS:vm_state", vmState(s));
        view.put("OS-EXT-STS:task_state", s.taskState);
        view.put("OS-EXT-STS:power_state", s.status == ServerRecord.Status.ACTIVE ? 1 : 0);
        view.put("OS-EXT-SRV-ATTR:host", s.hostId);
        view.put("OS-EXT-AZ:availability_zone", "cloudlet");
        view.put("key_name", null);
        view.put("config_drive", "");
        view.put("links", links(s));
        view.put("cloudlet:phase", s.phase);
        view.put("cloudlet:base_id", s.baseId);
        view.put("cloudlet:ports", ports);
        view.put("cloudlet:endpoint", endpoint);
        view.put("cloudlet:overlay_url", s.overlayUrl);
        view.put("cloudlet:last_overlay_id", s.lastOverlayId);
        view.put("cloudlet:handoff_id", s.handoffId);
        view.put("cloudlet:handoff_endpoint", s.handoffEndpoint);
        view.put("cloudlet:handed_off_to", s.handedOffTo);
        if (s.fault != null) {
            view.put("fault", Map.of("code", s.status == ServerRecord.Status.ERROR ? 500 : 400,
                    "message", s.fault, "created", s.updatedAt.toString()));
        }
        return view;
    }

    private static String vmState(ServerRecord s) {
        return switch (s.status) {
            case BUILD -> "building";
            case ACTIVE -> "active";
            case ERROR -> "error";
            case DELETED -> "deleted";
        };
    }

    private static List<Map<String, Object>> links(ServerRecord s) {
        return List.of(Map.of("rel", "self", "href", "/v2.1/servers/" + s.id),
                Map.of("rel", "bookmark", "href", "/servers/" + s.id));
    }

    private static Map<String, Object> metadata(ServerRecord s) {
        try {
            return JSON.readValue(s.metadata, new TypeReference<Map<String, Object>>() { });
        } catch (IOException e) {
            return Map.of();
        }
    }

    private static List<Map<String, Object>> ports(ServerRecord s) {
        if (s.ports == null) {
            return List.of();
        }
        try {
            List<Map<String, Object>> raw = JSON.readValue(s.ports, new TypeReference<List<Map<String, Object>>>() { });
            return raw.stream().map(p -> Map.<String, Object>of("guest_port", p.get("guestPort"),
                    "host_port", p.get("hostPort"))).toList();
        } catch (IOException e) {
            return List.of();
        }
    }
}
