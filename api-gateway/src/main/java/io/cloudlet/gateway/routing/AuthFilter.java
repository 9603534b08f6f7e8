package io.cloudlet.gateway.routing;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.cloudlet.gateway.identity.Tokens;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import org.slf4j.MDC;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

import java.io.IOException;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Every call to a routed API needs a valid {@code X-Auth-Token}. The filter strips identity
 * headers a client may have sent and sets {@code X-Project-Id}, {@code X-User-Id} and
 * {@code X-Roles} from the token (the services trust only these), plus an {@code X-Request-Id}
 * that every service logs and returns. A missing, forged or expired token gets 401: in Nova's shape under
 * {@code /v2.1}, as RFC 7807 problem details elsewhere.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 10)
class AuthFilter extends OncePerRequestFilter {

    private static final Set<String> IDENTITY_HEADERS = Set.of("x-project-id", "x-user-id", "x-roles",
            "x-request-id");
    /**
     * {@code Expect: 100-continue} was answered by this gateway's container already; passed on, it
     * makes the proxied upload of a large body fail.
     */
    private static final Set<String> HIDDEN_HEADERS = Set.of("expect");

    private final Tokens tokens;
    private final ObjectMapper json;

    AuthFilter(Tokens tokens, ObjectMapper json) {
        this.tokens = tokens;
        this.json = json;
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        String path = request.getRequestURI();
        return !(path.startsWith("/v2.1") || path.startsWith("/v2/"));
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String requestId = "req-" + UUID.randomUUID();
        MDC.put("request_id", requestId);
        try {
            var claims = tokens.verify(request.getHeader("X-Auth-Token"));
            if (claims.isEmpty()) {
                reject(request, response);
                return;
            }
            Map<String, String> identity = new LinkedHashMap<>();
            identity.put("x-project-id", claims.get().projectId());
            identity.put("x-user-id", claims.get().userId());
            identity.put("x-roles", String.join(",", claims.get().roles()));
            identity.put("x-request-id", requestId);
            chain.doFilter(new IdentityRequest(request, identity), response);
        } finally {
            MDC.remove("request_id");
        }
    }

    private void reject(HttpServletRequest request, HttpServletResponse response) throws IOException {
        String message = request.getHeader("X-Auth-Token") == null
                ? "The request you have made requires authentication (X-Auth-Token)."
                : "The token is not valid or has expired.";
        response.setStatus(401);
        response.setHeader("X-Request-Id", MDC.get("request_id"));
        response.setHeader("WWW-Authenticate", "Keystone uri=\"/v3\"");
        Object body;
        if (request.getRequestURI().startsWith("/v2.1")) {
            response.setContentType("application/json");
            body = Map.of("unauthorized", Map.of("code", 401, "message", message));
        } else {
            response.setContentType("application/problem+json");
            body = Map.of("type", "about:blank", "title", "Unauthorized", "status", 401, "detail", message,
                    "instance", request.getRequestURI());
        }
        json.writeValue(response.getOutputStream(), body);
    }

    /** The client's request with the identity headers replaced by the gateway's. */
    private static final class IdentityRequest extends HttpServletRequestWrapper {

        private final Map<String, String> identity;

        IdentityRequest(HttpServletRequest request, Map<String, String> identity) {
            super(request);
            this.identity = identity;
        }

        @Override
        public String getHeader(String name) {
            String key = name.toLowerCase(Locale.ROOT);
            if (HIDDEN_HEADERS.contains(key)) {
                return null;
            }
            return IDENTITY_HEADERS.contains(key) ? identity.get(key) : super.getHeader(name);
        }

        @Override
        public Enumeration<String> getHeaders(String name) {
            String key = name.toLowerCase(Locale.ROOT);
            if (HIDDEN_HEADERS.contains(key)) {
                return Collections.emptyEnumeration();
            }
            if (IDENTITY_HEADERS.contains(key)) {
                String value = identity.get(key);
                return Collections.enumeration(value == null ? List.of() : List.of(value));
            }
            return super.getHeaders(name);
        }

        @Override
        public Enumeration<String> getHeaderNames() {
            List<String> names = new java.util.ArrayList<>();
            for (String name : Collections.list(super.getHeaderNames())) {
                String key = name.toLowerCase(Locale.ROOT);
                if (!IDENTITY_HEADERS.contains(key) && !HIDDEN_HEADERS.contains(key)) {
                    names.add(name);
                }
            }
            names.addAll(identity.keySet());
            return Collections.enumeration(names);
        }
    }
}
