package io.cloudlet.image.catalog;

import io.cloudlet.engine.overlay.FileOverlaySource;
import io.cloudlet.image.blob.BlobStore;
import io.cloudlet.image.web.ApiException;
import io.cloudlet.image.web.Caller;
import jakarta.servlet.http.HttpServletRequest;
import org.springframework.core.io.FileSystemResource;
import org.springframework.core.io.Resource;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Glance v2-shaped image API: list and show images with cloudlet properties, register an overlay,
 * upload its data (checked to be an overlay for a base VM held here) and download any image's data
 * with HTTP Range support.
 */
@RestController
@RequestMapping("/v2/images")
class ImagesController {

    /** The body of {@code POST /v2/images}; Glance's other fields are accepted and ignored. */
    record CreateImage(String name, String cloudlet_type, String container_format, String disk_format) {
    }

    private final Catalog catalog;
    private final BlobStore blobs;

    ImagesController(Catalog catalog, BlobStore blobs) {
        this.catalog = catalog;
        this.blobs = blobs;
    }

    @GetMapping
    Map<String, Object> list(HttpServletRequest request,
                             @RequestParam(name = "cloudlet_type", required = false) String type,
                             @RequestParam(name = "cloudlet_base_id", required = false) String baseId,
                             @RequestParam(name = "name", required = false) String name) {
        Caller caller = Caller.of(request);
        List<Map<String, Object>> images = catalog.visibleImages(caller).stream()
                .filter(i -> type == null || i.type().wireName().equals(type))
                .filter(i -> baseId == null || baseId.equals(i.baseId))
                .filter(i -> name == null || name.equals(i.name))
                .map(this::view).toList();
        return Map.of("images", images, "first", "/v2/images", "schema", "/v2/schemas/images");
    }

    @GetMapping("/{id}")
    Map<String, Object> show(HttpServletRequest request, @PathVariable String id) {
        return view(catalog.visibleImage(id, Caller.of(request)));
    }

    @PostMapping
    ResponseEntity<Map<String, Object>> create(HttpServletRequest request, @RequestBody CreateImage body) {
        Caller caller = Caller.of(request);
        if (body == null || body.name() == null || body.name().isBlank() || body.name().length() > 255) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "an image needs a name of 1-255 characters");
        }
        String type = body.cloudlet_type() == null ? "overlay" : body.cloudlet_type();
        if (!type.equals(CloudletType.OVERLAY.wireName())) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "only overlays are registered here (cloudlet_type="
                    + "overlay); base VMs are imported as packages at /v2/cloudlet/bases");
        }
        ImageRecord image = catalog.createOverlay(body.name(), caller);
        return ResponseEntity.created(URI.create("/v2/images/" + image.id)).body(view(image));
    }

    /**
     * Streams the overlay's data into the blob store. It must be a well-formed overlay made for a
     * base VM this cloudlet holds; otherwise nothing is kept and the image stays queued.
     */
    @PutMapping(path = "/{id}/file", consumes = MediaType.ALL_VALUE)
    ResponseEntity<Void> upload(HttpServletRequest request, @PathVariable String id) throws IOException {
        Caller caller = Caller.of(request);
        ImageRecord image = catalog.visibleImage(id, caller);
        if (!image.owner.equals(caller.projectId()) && !caller.isAdmin()) {
            throw new ApiException(HttpStatus.FORBIDDEN, "image " + id + " belongs to another project");
        }
        catalog.beginUpload(image);
        Path scratch = blobs.stagingPath("overlay");
        boolean done = false;
        try {
            try (InputStream in = request.getInputStream(); OutputStream out = Files.newOutputStream(scratch)) {
                in.transferTo(out);
            }
            String baseId = overlayBaseId(scratch);
            catalog.requireBase(baseId);
            BlobStore.Blob blob = blobs.adopt(scratch);
            catalog.completeUpload(image.id, baseId, blob);
            done = true;
            return ResponseEntity.noContent().build();
        } catch (ApiException e) {
            throw e.status() == HttpStatus.NOT_FOUND ? new ApiException(HttpStatus.BAD_REQUEST,
                    "the overlay was made for a base VM this cloudlet does not hold: " + e.getMessage()) : e;
        } finally {
            Files.deleteIfExists(scratch);
            if (!done) {
                catalog.abortUpload(image.id);
            }
        }
    }

    private static String overlayBaseId(Path file) {
        try (FileOverlaySource overlay = FileOverlaySource.open(file)) {
            return overlay.header().meta().baseId();
        } catch (IOException e) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "the data is not a valid overlay: " + e.getMessage());
        }
    }

    /** The image's data; Spring answers {@code Range} requests on a resource with 206 and the part. */
    @GetMapping("/{id}/file")
    ResponseEntity<Resource> download(HttpServletRequest request, @PathVariable String id) {
        ImageRecord image = catalog.visibleImage(id, Caller.orInternal(request));
        if (image.status != ImageRecord.Status.active || image.blobSha256 == null) {
            return ResponseEntity.noContent().build();
        }
        return ResponseEntity.ok().contentType(MediaType.APPLICATION_OCTET_STREAM)
                .header("OpenStack-image-checksum-sha256", image.blobSha256)
                .body(new FileSystemResource(blobs.path(image.blobSha256)));
    }

    @DeleteMapping("/{id}")
    ResponseEntity<Void> delete(HttpServletRequest request, @PathVariable String id) throws IOException {
        Caller caller = Caller.of(request);
        catalog.deleteOverlay(catalog.visibleImage(id, caller), caller);
        return ResponseEntity.noContent().build();
    }

    private Map<String, Object> view(ImageRecord image) {
        return ImageViews.image(image, image.baseId == null ? null : catalog.base(image.baseId).orElse(null));
    }
}
