package io.cloudlet.image;

import org.springframework.boot.context.properties.ConfigurationProperties;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Settings of the image service.
 *
 * @param store           directory of the blob store (blobs and staging files)
 * @param downloadTimeout how long an import from a URL may take
 */
@ConfigurationProperties("cloudlet.image")
public record ImageProperties(Path store, Duration downloadTimeout) {

    public ImageProperties {
        store = store == null ? Path.of("build/image-store") : store;
        downloadTimeout = downloadTimeout == null ? Duration.ofHours(2) : downloadTimeout;
    }
}
