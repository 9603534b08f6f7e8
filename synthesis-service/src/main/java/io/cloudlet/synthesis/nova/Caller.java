package io.cloudlet.synthesis.nova;

import jakarta.servlet.http.HttpServletRequest;

import java.util.Arrays;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.stream.Collectors;

/**
 * Who is calling, as the api-gateway established it from the Keystone token and forwarded in
 * {@code X-Project-Id}, {@code X-User-Id} and {@code X-Roles}.
 */
public record Caller(String projectId, String userId, Set<String> roles) {

    public static Caller of(HttpServletRequest request) {
        String project = request.getHeader("X-Project-Id");
        if (project == null || project.isBlank()) {
            throw new NovaException(401, "unauthorized", "The request you have made requires authentication.");
        }
        String roles = request.getHeader("X-Roles");
        return new Caller(project, request.getHeader("X-User-Id"), roles == null ? Set.of()
                : Arrays.stream(roles.split(",")).map(String::trim).filter(r -> !r.isEmpty())
                .collect(Collectors.toUnmodifiableSet()));
    }

    public boolean isAdmin() {
        return roles.contains("admin");
    }

    /** Passes the identity on to another internal service. */
    public void forward(BiConsumer<String, String> header) {
        header.accept("X-Project-Id", projectId);
        if (userId != null) {
            header.accept("X-User-Id", userId);
        }
        header.accept("X-Roles", String.join(",", roles));
    }
}
