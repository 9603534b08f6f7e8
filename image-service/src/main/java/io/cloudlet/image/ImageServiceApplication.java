package io.cloudlet.image;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/** The image service: base VM packages and overlays, their blobs and a Glance v2-shaped catalogue. */
@SpringBootApplication
@ConfigurationPropertiesScan
public class ImageServiceApplication {

    public static void main(String[] args) {
        SpringApplication.run(ImageServiceApplication.class, args);
    }
}
