package io.cloudlet.image.catalog;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cloudlet.engine.basevm.BaseVm;
import io.cloudlet.engine.basevm.BaseVmManifest;
import io.cloudlet.engine.basevm.BaseVmPackage;
import io.cloudlet.engine.FileTrees;
import io.cloudlet.engine.InvalidArtifactException;
import io.cloudlet.image.blob.BlobStore;
import io.cloudlet.image.web.ApiException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Service;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Imports base VM packages: unpacks and verifies every digest with the overlay engine in a
 * staging directory, moves each member into the blob store and only then registers the base VM
 * and its image records in one transaction. A package that fails validation leaves nothing.
 */
@Service
class BaseImporter {

    private static final Logger log = LoggerFactory.getLogger(BaseImporter.class);

    private final BlobStore blobs;
    private final Catalog catalog;
    private final ObjectMapper json;

    BaseImporter(BlobStore blobs, Catalog catalog, ObjectMapper json) {
        this.blobs = blobs;
        this.catalog = catalog;
        this.json = json;
    }

    /** Imports the package read from {@code in}; importing a base VM that is present returns it. */
    BaseVmRecord importPackage(InputStream in) throws IOException {
        Path scratch = blobs.stagingPath("import");
        try {
            BaseVm base;
            try {
                base = BaseVmPackage.importFrom(in, scratch, Math.max(1, Runtime.getRuntime().availableProcessors()));
            } catch (InvalidArtifactException e) {
                throw new ApiException(HttpStatus.BAD_REQUEST, e.getMessage());
            }
            BaseVmManifest manifest = base.manifest();
            var present = catalog.base(manifest.baseId());
            if (present.isPresent()) {
                return present.get();
            }
            // Refuse a name clash before the members move into the blob store.
            catalog.checkNameFree(manifest.name(), manifest.baseId());
            JsonNode template = json.readTree(manifest.vmTemplate());
            BaseVmRecord record = new BaseVmRecord(manifest.baseId(), manifest.name(),
                    template.path("vcpus").asInt(1), template.path("memoryMib").asInt(
                    (int) (manifest.memory().size() >> 20)), manifest.disk().size(), manifest.memory().size(),
                    manifest.cpuModel(), manifest.machineType(), manifest.emulatorVersion(), manifest.vmTemplate(),
                    manifest.createdAt());
            int position = 0;
            List<String> adopted = new ArrayList<>();
            BaseVmRecord registered;
            try {
                for (Path file : membersInPackageOrder(base.directory())) {
                    BlobStore.Blob blob = blobs.adopt(file);
                    adopted.add(blob.sha256());
                    record.members.add(new BaseMember(manifest.baseId(), file.getFileName().toString(), position++,
                            blob.sha256(), blob.size(), blob.crc32()));
                }
                registered = catalog.register(record);
            } catch (IOException | RuntimeException e) {
                catalog.deleteUnreferencedBlobs(adopted);
                throw e;
            }
            log.info("imported base VM {} ({})", manifest.name(), manifest.baseId());
            return registered;
        } finally {
            try {
                FileTrees.deleteRecursively(scratch);
            } catch (IOException e) {
                log.warn("could not remove staging directory {}: {}", scratch, e.getMessage());
            }
        }
    }

    /** The manifest first, the big images last: the order the engine itself exports. */
    private static List<Path> membersInPackageOrder(Path directory) throws IOException {
        List<Path> files;
        try (Stream<Path> list = Files.list(directory)) {
            files = new ArrayList<>(list.toList());
        }
        files.sort(Comparator.comparingInt((Path p) -> rank(p.getFileName().toString()))
                .thenComparing(p -> p.getFileName().toString()));
        return files;
    }

    private static int rank(String name) {
        return switch (name) {
            case BaseVm.MANIFEST -> 0;
            case BaseVm.DISK, BaseVm.MEMORY -> 2;
            default -> 1;
        };
    }
}
