package io.cloudlet.image.web;

import jakarta.servlet.http.HttpServletRequest;
import org.springframework.http.HttpStatus;

import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Who is calling, as the api-gateway established it from the Keystone token and forwarded in
 * {@code X-Project-Id}, {@code X-User-Id} and {@code X-Roles} (the gateway strips these headers
 * from client requests). Services behind the gateway are reachable only on the internal network.
 */
public record Caller(String projectId, String userId, Set<String> roles) {

    public static Caller of(HttpServletRequest request) {
        String project = request.getHeader("X-Project-Id");
        if (project == null || project.isBlank()) {
            throw new ApiException(HttpStatus.UNAUTHORIZED, "the request carries no project (X-Project-Id)");
        }
        String roles = request.getHeader("X-Roles");
        return new Caller(project, request.getHeader("X-User-Id"), roles == null ? Set.of()
                : Arrays.stream(roles.split(",")).map(String::trim).filter(r -> !r.isEmpty())
                .collect(Collectors.toUnmodifiableSet()));
    }

    /**
     * The caller of a read-only data endpoint (image file, base VM package). A request without
     * identity headers cannot have passed the gateway, which always sets them, so it comes from the
     * cloudlet's internal network: a compute agent fetching a base VM or an overlay by URL.
     */
    public static Caller orInternal(HttpServletRequest request) {
        String project = request.getHeader("X-Project-Id");
        return project == null || project.isBlank() ? new Caller("internal", null, Set.of("service")) : of(request);
    }

    /** Admins and internal services see every image. */
    public boolean seesEverything() {
        return isAdmin() || roles.contains("service") && "internal".equals(projectId);
    }

    public boolean isAdmin() {
        return roles.contains("admin");
    }

    /** Fails with 403 unless the caller has the admin role. */
    public void requireAdmin(String action) {
        if (!isAdmin()) {
            throw new ApiException(HttpStatus.FORBIDDEN, action + " needs the admin role");
        }
    }
}
