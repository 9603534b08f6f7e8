package io.cloudlet.agent.service;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;
import org.springframework.scheduling.annotation.EnableScheduling;

/** The per-host compute agent. */
@SpringBootApplication
@ConfigurationPropertiesScan
@EnableScheduling
public class ComputeAgentApplication {

    public static void main(String[] args) {
        SpringApplication.run(ComputeAgentApplication.class, args);
    }
}
