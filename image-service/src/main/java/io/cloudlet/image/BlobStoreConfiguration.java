package io.cloudlet.image;

import io.cloudlet.image.blob.BlobStore;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import java.io.IOException;

/** Wires the blob store (plain Java) and clears what a crash left in its staging directory. */
@Configuration(proxyBeanMethods = false)
class BlobStoreConfiguration {

    @Bean
    BlobStore blobStore(ImageProperties properties) throws IOException {
        BlobStore store = new BlobStore(properties.store());
        store.clearStaging();
        return store;
    }
}
