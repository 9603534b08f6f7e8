package io.cloudlet.gateway.identity;

import com.fasterxml.jackson.databind.JsonNode;
import io.cloudlet.gateway.GatewayProperties;
import jakarta.servlet.http.HttpServletRequest;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.security.crypto.password.PasswordEncoder;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Keystone v3, as much as OpenStack clients need: version discovery, {@code POST /v3/auth/tokens}
 * (password or token method, project scope) answering 201 with {@code X-Subject-Token} and a
 * catalogue, token validation, and admin calls to create projects, users and role assignments.
 */
@RestController
class KeystoneController {

    private final Directory directory;
    private final Tokens tokens;
    private final PasswordEncoder passwords;
    private final GatewayProperties properties;

    KeystoneController(Directory directory, Tokens tokens, PasswordEncoder passwords, GatewayProperties properties) {
        this.directory = directory;
        this.tokens = tokens;
        this.passwords = passwords;
        this.properties = properties;
    }

    @GetMapping({"/v3", "/v3/"})
    Map<String, Object> version(HttpServletRequest request) {
        return Map.of("version", Map.of("id", "v3.14", "status", "stable", "updated", "2020-04-07T00:00:00Z",
                "links", List.of(Map.of("rel", "self", "href", publicUrl(request) + "/v3/")),
                "media-types", List.of(Map.of("base", "application/json",
                        "type", "application/vnd.openstack.identity-v3+json"))));
    }

    @PostMapping("/v3/auth/tokens")
    ResponseEntity<Map<String, Object>> authenticate(HttpServletRequest request, @RequestBody JsonNode body) {
        JsonNode identity = body.path("auth").path("identity");
        List<String> methods = new ArrayList<>();
        identity.path("methods").forEach(m -> methods.add(m.asText()));
        Directory.User user;
        Instant notAfter = null;
        String tokenProject = null;
        if (methods.contains("password")) {
            JsonNode u = identity.path("password").path("user");
            Optional<Directory.User> found = u.hasNonNull("id") ? directory.user(u.path("id").asText())
                    : directory.userByName(domain(u.path("domain")), u.path("name").asText());
            user = found.filter(Directory.User::enabled)
                    .filter(x -> passwords.matches(u.path("password").asText(""), x.passwordHash()))
                    .orElseThrow(KeystoneException::unauthorized);
        } else if (methods.contains("token")) {
            Tokens.Claims claims = tokens.verify(identity.path("token").path("id").asText(null))
                    .orElseThrow(KeystoneException::unauthorized);
            user = directory.user(claims.userId()).filter(Directory.User::enabled)
                    .orElseThrow(KeystoneException::unauthorized);
            notAfter = claims.expiresAt();
            tokenProject = claims.projectId();
        } else {
            throw new KeystoneException(400, "auth.identity.methods must include 'password' or 'token'.");
        }
        Directory.Project project = scope(body.path("auth").path("scope"), user, tokenProject);
        List<String> roles = directory.roles(user.id(), project.id());
        if (roles.isEmpty()) {
            throw new KeystoneException(401, "User " + user.name() + " has no role on project " + project.name() + ".");
        }
        String token = tokens.issue(user.id(), project.id(), roles, methods, notAfter);
        Tokens.Claims claims = tokens.verify(token).orElseThrow();
        return ResponseEntity.status(201).header("X-Subject-Token", token)
                .body(Map.of("token", tokenBody(request, claims, user, project)));
    }

    /** Validates {@code X-Subject-Token} for a caller holding a valid {@code X-Auth-Token}. */
    @GetMapping("/v3/auth/tokens")
    ResponseEntity<Map<String, Object>> validate(HttpServletRequest request) {
        tokens.verify(request.getHeader("X-Auth-Token")).orElseThrow(KeystoneException::unauthorized);
        Tokens.Claims subject = tokens.verify(request.getHeader("X-Subject-Token"))
                .orElseThrow(() -> new KeystoneException(404, "The token is not valid or has expired."));
        Directory.User user = directory.user(subject.userId()).orElseThrow(KeystoneException::unauthorized);
        Directory.Project project = directory.project(subject.projectId()).orElseThrow(KeystoneException::unauthorized);
        return ResponseEntity.ok().header("X-Subject-Token", request.getHeader("X-Subject-Token"))
                .body(Map.of("token", tokenBody(request, subject, user, project)));
    }

    @GetMapping("/v3/projects")
    Map<String, Object> projects(HttpServletRequest request) {
        requireAdmin(request);
        return Map.of("projects", directory.projects().stream().map(KeystoneController::view).toList());
    }

    @PostMapping("/v3/projects")
    ResponseEntity<Map<String, Object>> createProject(HttpServletRequest request, @RequestBody JsonNode body) {
        requireAdmin(request);
        String name = body.path("project").path("name").asText("");
        if (!name.matches("[A-Za-z0-9._-]{1,64}")) {
            throw new KeystoneException(400, "project.name must be 1-64 letters, digits, '.', '_' or '-'.");
        }
        try {
            Directory.Project project = directory.createProject(name,
                    body.path("project").path("domain_id").asText(Directory.DEFAULT_DOMAIN));
            return ResponseEntity.status(201).body(Map.of("project", view(project)));
        } catch (DuplicateKeyException e) {
            throw new KeystoneException(409, "A project named '" + name + "' exists already.");
        }
    }

    @GetMapping("/v3/users")
    Map<String, Object> users(HttpServletRequest request) {
        requireAdmin(request);
        return Map.of("users", directory.users().stream().map(KeystoneController::view).toList());
    }

    /** Creates a user; with {@code default_project_id} it also gets the member role there. */
    @PostMapping("/v3/users")
    ResponseEntity<Map<String, Object>> createUser(HttpServletRequest request, @RequestBody JsonNode body) {
        requireAdmin(request);
        JsonNode u = body.path("user");
        String name = u.path("name").asText("");
        String password = u.path("password").asText("");
        if (!name.matches("[A-Za-z0-9._@-]{1,64}") || password.length() < 8) {
            throw new KeystoneException(400, "user.name must be 1-64 characters and user.password at least 8.");
        }
        String projectId = u.path("default_project_id").asText(null);
        if (projectId != null && directory.project(projectId).isEmpty()) {
            throw new KeystoneException(404, "Could not find project: " + projectId + ".");
        }
        try {
            Directory.User user = directory.createUser(name, u.path("domain_id").asText(Directory.DEFAULT_DOMAIN),
                    passwords.encode(password), projectId);
            if (projectId != null) {
                directory.assign(user.id(), projectId, "member");
            }
            return ResponseEntity.status(201).body(Map.of("user", view(user)));
        } catch (DuplicateKeyException e) {
            throw new KeystoneException(409, "A user named '" + name + "' exists already.");
        }
    }

    @PutMapping("/v3/projects/{projectId}/users/{userId}/roles/{role}")
    ResponseEntity<Void> assign(HttpServletRequest request, @PathVariable String projectId,
                                @PathVariable String userId, @PathVariable String role) {
        requireAdmin(request);
        if (!List.of("admin", "member", "reader").contains(role)) {
            throw new KeystoneException(404, "Could not find role: " + role + ".");
        }
        directory.project(projectId).orElseThrow(() -> new KeystoneException(404, "Could not find project: "
                + projectId + "."));
        directory.user(userId).orElseThrow(() -> new KeystoneException(404, "Could not find user: " + userId + "."));
        directory.assign(userId, projectId, role);
        return ResponseEntity.noContent().build();
    }

    @ExceptionHandler(KeystoneException.class)
    ResponseEntity<Map<String, Object>> refused(KeystoneException e) {
        return error(e.status, e.getMessage());
    }

    @ExceptionHandler(HttpMessageNotReadableException.class)
    ResponseEntity<Map<String, Object>> malformed(HttpMessageNotReadableException e) {
        return error(400, "The request body is not valid JSON.");
    }

    private static ResponseEntity<Map<String, Object>> error(int status, String message) {
        String title = switch (status) {
            case 400 -> "Bad Request";
            case 401 -> "Unauthorized";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 409 -> "Conflict";
            default -> "Error";
        };
        return ResponseEntity.status(status).body(Map.of("error", Map.of("code", status, "title", title,
                "message", message)));
    }

    private void requireAdmin(HttpServletRequest request) {
        Tokens.Claims claims = tokens.verify(request.getHeader("X-Auth-Token"))
                .orElseThrow(KeystoneException::unauthorized);
        if (!claims.roles().contains("admin")) {
            throw new KeystoneException(403, "You are not authorized to perform the requested action (admin only).");
        }
    }

    private Directory.Project scope(JsonNode scope, Directory.User user, String tokenProject) {
        JsonNode p = scope.path("project");
        Optional<Directory.Project> project;
        if (p.hasNonNull("id")) {
            project = directory.project(p.path("id").asText());
        } else if (p.hasNonNull("name")) {
            project = directory.projectByName(domain(p.path("domain")), p.path("name").asText());
        } else if (tokenProject != null) {
            project = directory.project(tokenProject);
        } else if (user.defaultProjectId() != null) {
            project = directory.project(user.defaultProjectId());
        } else {
            throw new KeystoneException(400, "auth.scope.project is required (this cloud issues project-scoped "
                    + "tokens only).");
        }
        return project.filter(Directory.Project::enabled).orElseThrow(KeystoneException::unauthorized);
    }

    private String domain(JsonNode domain) {
        if (domain.hasNonNull("id")) {
            return domain.path("id").asText();
        }
        String name = domain.path("name").asText("Default");
        return name.equalsIgnoreCase("Default") ? Directory.DEFAULT_DOMAIN : name;
    }

    private Map<String, Object> tokenBody(HttpServletRequest request, Tokens.Claims claims, Directory.User user,
                                          Directory.Project project) {
        Map<String, Object> domain = Map.of("id", user.domainId(), "name", domainName(user.domainId()));
        Map<String, Object> token = new LinkedHashMap<>();
        token.put("methods", claims.methods());
        token.put("user", Map.of("id", user.id(), "name", user.name(), "domain", domain,
                "password_expires_at", ""));
        token.put("project", Map.of("id", project.id(), "name", project.name(),
                "domain", Map.of("id", project.domainId(), "name", domainName(project.domainId()))));
        token.put("roles", claims.roles().stream().map(r -> Map.of("id", r, "name", r)).toList());
        token.put("issued_at", claims.issuedAt().toString());
        token.put("expires_at", claims.expiresAt().toString());
        token.put("audit_ids", List.of());
        token.put("is_domain", false);
        String base = publicUrl(request);
        token.put("catalog", List.of(
                service("compute", "nova", base + "/v2.1"),
                service("image", "glance", base),
                service("identity", "keystone", base + "/v3")));
        return token;
    }

    private static Map<String, Object> service(String type, String name, String url) {
        List<Map<String, Object>> endpoints = new ArrayList<>();
        for (String iface : List.of("public", "internal", "admin")) {
            endpoints.add(Map.of("id", name + "-" + iface, "interface", iface, "region", "RegionOne",
                    "region_id", "RegionOne", "url", url));
        }
        return Map.of("id", name, "type", type, "name", name, "endpoints", endpoints);
    }

    private String publicUrl(HttpServletRequest request) {
        if (properties.publicUrl() != null && !properties.publicUrl().isBlank()) {
            return properties.publicUrl().replaceAll("/+$", "");
        }
        return request.getScheme() + "://" + request.getServerName() + ":" + request.getServerPort();
    }

    private static String domainName(String id) {
        return Directory.DEFAULT_DOMAIN.equals(id) ? "Default" : id;
    }

    private static Map<String, Object> view(Directory.Project p) {
        return Map.of("id", p.id(), "name", p.name(), "domain_id", p.domainId(), "enabled", p.enabled());
    }

    private static Map<String, Object> view(Directory.User u) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("id", u.id());
        view.put("name", u.name());
        view.put("domain_id", u.domainId());
        view.put("default_project_id", u.defaultProjectId());
        view.put("enabled", u.enabled());
        return view;
    }
}
