package io.cloudlet.gateway.identity;

import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TokensTests {

    private static final String SECRET = "0123456789abcdef0123456789abcdef";

    @Test
    void aTokenCarriesItsScopeUntilItExpires() {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        Tokens issuer = new Tokens(SECRET, Duration.ofHours(1), Clock.fixed(now, ZoneOffset.UTC));
        String token = issuer.issue("u1", "p1", List.of("member"), List.of("password"), null);

        assertThat(issuer.verify(token)).hasValueSatisfying(claims -> {
            assertThat(claims.projectId()).isEqualTo("p1");
            assertThat(claims.roles()).containsExactly("member");
            assertThat(claims.expiresAt()).isEqualTo(now.plus(Duration.ofHours(1)));
        });
        Tokens later = new Tokens(SECRET, Duration.ofHours(1), Clock.fixed(now.plus(Duration.ofMinutes(61)),
                ZoneOffset.UTC));
        assertThat(later.verify(token)).as("expired").isEmpty();
    }

    @Test
    void aRescopedTokenNeverOutlivesTheTokenItCameFrom() {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        Tokens issuer = new Tokens(SECRET, Duration.ofHours(1), Clock.fixed(now, ZoneOffset.UTC));
        String token = issuer.issue("u1", "p2", List.of("member"), List.of("token"), now.plusSeconds(60));
        assertThat(issuer.verify(token).orElseThrow().expiresAt()).isEqualTo(now.plusSeconds(60));
    }

    @Test
    void forgedOrForeignTokensAreRejected() {
        Tokens issuer = new Tokens(SECRET, Duration.ofHours(1), Clock.systemUTC());
        String token = issuer.issue("u1", "p1", List.of("admin"), List.of("password"), null);
        String payloadOfAnother = issuer.issue("u1", "p2", List.of("admin"), List.of("password"), null).split("\\.")[0];

        assertThat(issuer.verify(payloadOfAnother + "." + token.split("\\.")[1])).isEmpty();
        assertThat(new Tokens("another-secret-another-secret-xx", Duration.ofHours(1), Clock.systemUTC())
                .verify(token)).isEmpty();
        assertThat(issuer.verify("garbage")).isEmpty();
        assertThat(issuer.verify(null)).isEmpty();
        assertThatThrownBy(() -> new Tokens("short", Duration.ofHours(1), Clock.systemUTC()))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
