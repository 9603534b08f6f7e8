package io.cloudlet.image.catalog;

import io.cloudlet.image.ImageProperties;
import io.cloudlet.image.blob.BlobStore;
import io.cloudlet.image.web.ApiException;
import io.cloudlet.image.web.Caller;
import jakarta.servlet.http.HttpServletRequest;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Base VMs: import a package (admin only; streamed upload of the zip, or {@code {"url": ...}} to
 * fetch it), list and show them, and serve a base VM as a package to compute agents.
 */
@RestController
@RequestMapping("/v2/cloudlet/bases")
class BasesController {

    private final Catalog catalog;
    private final BaseImporter importer;
    private final BlobStore blobs;
    private final ImageRepository images;
    private final ObjectMapper json;
    private final HttpClient http;
    private final ImageProperties properties;

    BasesController(Catalog catalog, BaseImporter importer, BlobStore blobs, ImageRepository images,
                    ObjectMapper json, ImageProperties properties) {
        this.catalog = catalog;
        this.importer = importer;
        this.blobs = blobs;
        this.images = images;
        this.json = json;
        this.properties = properties;
        this.http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL).build();
    }

    @GetMapping
    Map<String, Object> list(HttpServletRequest request) {
        Caller.of(request);
        return Map.of("bases", catalog.bases().stream().map(this::view).toList());
    }

    @GetMapping("/{baseId}")
    Map<String, Object> show(HttpServletRequest request, @PathVariable String baseId) {
        Caller.of(request);
        return Map.of("base", view(catalog.requireBase(baseId)));
    }

    /** Imports a base VM package: the request body is the zip, or JSON naming a URL to fetch it from. */
    @PostMapping(consumes = MediaType.ALL_VALUE)
    ResponseEntity<Map<String, Object>> importBase(HttpServletRequest request) throws IOException {
        Caller.of(request).requireAdmin("importing a base VM");
        String type = request.getContentType() == null ? "" : request.getContentType();
        BaseVmRecord base;
        if (type.startsWith(MediaType.APPLICATION_JSON_VALUE)) {
            base = importFromUrl(request.getInputStream());
        } else {
            try (InputStream in = request.getInputStream()) {
                base = importer.importPackage(in);
            }
        }
        return ResponseEntity.created(URI.create("/v2/cloudlet/bases/" + base.baseId))
                .body(Map.of("base", view(base)));
    }

    private BaseVmRecord importFromUrl(InputStream body) throws IOException {
        JsonNode request;
        try {
            request = json.readTree(body);
        } catch (IOException e) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "the body is not valid JSON");
        }
        String url = request == null ? null : request.path("url").asText(null);
        URI uri;
        try {
            uri = url == null ? null : URI.create(url);
        } catch (IllegalArgumentException e) {
            uri = null;
        }
        if (uri == null || !List.of("http", "https").contains(String.valueOf(uri.getScheme()))) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "expected {\"url\": \"http(s)://...\"} naming a base VM package");
        }
        HttpResponse<InputStream> response;
        try {
            response = http.send(HttpRequest.newBuilder(uri).timeout(properties.downloadTimeout()).GET().build(),
                    HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "cannot fetch " + url + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(HttpStatus.SERVICE_UNAVAILABLE, "interrupted while fetching " + url);
        }
        try (InputStream in = response.body()) {
            if (response.statusCode() != 200) {
                throw new ApiException(HttpStatus.BAD_REQUEST, "fetching " + url + " answered HTTP "
                        + response.statusCode());
            }
            return importer.importPackage(in);
        }
    }

    /**
     * The base VM as a package zip, assembled from its blobs. Entries are stored, not compressed:
     * agents fetch over the cloudlet's own network, and the CRC-32s were computed at import.
     */
    @GetMapping("/{baseId}/package")
    ResponseEntity<StreamingResponseBody> download(HttpServletRequest request, @PathVariable String baseId) {
        Caller.orInternal(request);
        BaseVmRecord base = catalog.requireBase(baseId);
        StreamingResponseBody body = out -> {
            try (ZipOutputStream zip = new ZipOutputStream(out)) {
                zip.setMethod(ZipOutputStream.STORED);
                for (BaseMember member : base.members) {
                    ZipEntry entry = new ZipEntry(member.name());
                    entry.setSize(member.size);
                    entry.setCompressedSize(member.size);
                    entry.setCrc(member.crc32);
                    zip.putNextEntry(entry);
                    Files.copy(blobs.path(member.blobSha256), zip);
                    zip.closeEntry();
                }
            }
        };
        return ResponseEntity.ok().contentType(MediaType.parseMediaType("application/zip"))
                .header(HttpHeaders.CONTENT_DISPOSITION, "attachment; filename=\"" + base.name + ".zip\"")
                .body(body);
    }

    private Map<String, Object> view(BaseVmRecord base) {
        return ImageViews.base(base, images.findByBaseId(base.baseId));
    }
}
