package io.cloudlet.gateway.identity;

import com.fasterxml.jackson.databind.ObjectMapper;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Optional;

/**
 * Non-persistent tokens in the manner of Keystone's Fernet tokens: the scope and expiry, signed
 * with HMAC-SHA256. Any gateway holding the key validates them without a database lookup; they
 * cannot be revoked before they expire.
 */
public final class Tokens {

    /** What a token says: who, in which project, with which roles, until when, obtained how. */
    public record Claims(String userId, String projectId, List<String> roles, Instant issuedAt, Instant expiresAt,
                         List<String> methods) {
    }

    private static final ObjectMapper JSON = new ObjectMapper().findAndRegisterModules();
    private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder DECODER = Base64.getUrlDecoder();

    private final byte[] key;
    private final Duration ttl;
    private final Clock clock;

    public Tokens(String secret, Duration ttl, Clock clock) {
        if (secret == null || secret.isBlank()) {
            this.key = new byte[32];
            new SecureRandom().nextBytes(this.key);
        } else if (secret.length() < 32) {
            throw new IllegalArgumentException("the token secret must have at least 32 characters");
        } else {
            this.key = secret.getBytes(StandardCharsets.UTF_8);
        }
        this.ttl = ttl == null ? Duration.ofHours(1) : ttl;
        this.clock = clock;
    }

    public String issue(String userId, String projectId, List<String> roles, List<String> methods, Instant notAfter) {
        Instant now = clock.instant();
        Instant expires = now.plus(ttl);
        if (notAfter != null && notAfter.isBefore(expires)) {
            expires = notAfter;
        }
        try {
            byte[] body = JSON.writeValueAsBytes(new Claims(userId, projectId, roles, now, expires, methods));
            return ENCODER.encodeToString(body) + "." + ENCODER.encodeToString(sign(body));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The token's claims if its signature holds and it has not expired. */
    public Optional<Claims> verify(String token) {
        if (token == null || token.length() > 4096) {
            return Optional.empty();
        }
        int dot = token.indexOf('.');
        if (dot <= 0) {
            return Optional.empty();
        }
        try {
            byte[] body = DECODER.decode(token.substring(0, dot));
            byte[] signature = DECODER.decode(token.substring(dot + 1));
            if (!MessageDigest.isEqual(signature, sign(body))) {
                return Optional.empty();
            }
            Claims claims = JSON.readValue(body, Claims.class);
            return claims.expiresAt().isAfter(clock.instant()) ? Optional.of(claims) : Optional.empty();
        } catch (IllegalArgumentException | IOException e) {
            return Optional.empty();
        }
    }

    private byte[] sign(byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(body);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
