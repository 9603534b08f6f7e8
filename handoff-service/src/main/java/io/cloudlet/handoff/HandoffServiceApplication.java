package io.cloudlet.handoff;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/** The handoff service. */
@SpringBootApplication
@ConfigurationPropertiesScan
public class HandoffServiceApplication {

    public static void main(String[] args) {
        SpringApplication.run(HandoffServiceApplication.class, args);
    }
}
