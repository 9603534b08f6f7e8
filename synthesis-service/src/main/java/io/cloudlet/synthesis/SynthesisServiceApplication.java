package io.cloudlet.synthesis;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;
import org.springframework.scheduling.annotation.EnableScheduling;

/** The synthesis service: the Nova-shaped servers API in front of the compute agents. */
@SpringBootApplication
@ConfigurationPropertiesScan
@EnableScheduling
public class SynthesisServiceApplication {

    public static void main(String[] args) {
        SpringApplication.run(SynthesisServiceApplication.class, args);
    }
}
