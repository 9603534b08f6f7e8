package io.cloudlet.gateway.identity;

import io.cloudlet.gateway.GatewayProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.ApplicationRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.security.crypto.bcrypt.BCryptPasswordEncoder;
import org.springframework.security.crypto.password.PasswordEncoder;

import java.time.Clock;

/** Wires tokens and password hashing, and bootstraps the admin user when a password is configured. */
@Configuration(proxyBeanMethods = false)
class IdentityConfiguration {

    private static final Logger log = LoggerFactory.getLogger(IdentityConfiguration.class);

    @Bean
    Tokens tokens(GatewayProperties properties) {
        if (properties.tokenSecret() == null || properties.tokenSecret().isBlank()) {
            log.warn("no cloudlet.gateway.token-secret: tokens are signed with a random key and die with this process");
        }
        return new Tokens(properties.tokenSecret(), properties.tokenTtl(), Clock.systemUTC());
    }

    @Bean
    PasswordEncoder passwordEncoder() {
        return new BCryptPasswordEncoder();
    }

    @Bean
    ApplicationRunner bootstrapAdmin(GatewayProperties properties, Directory directory, PasswordEncoder passwords) {
        return args -> {
            if (properties.adminPassword() != null && !properties.adminPassword().isBlank()) {
                directory.bootstrap(passwords.encode(properties.adminPassword()));
                log.info("bootstrap: user admin in project admin (roles admin, member)");
            }
        };
    }
}
