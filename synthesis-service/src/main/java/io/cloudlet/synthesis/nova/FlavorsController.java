package io.cloudlet.synthesis.nova;

import io.cloudlet.synthesis.images.ImageClient;
import io.cloudlet.synthesis.server.Flavors;
import jakarta.servlet.http.HttpServletRequest;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Flavors, one per base VM shape (see {@link Flavors}). */
@RestController
@RequestMapping("/v2.1/flavors")
class FlavorsController {

    private final ImageClient images;

    FlavorsController(ImageClient images) {
        this.images = images;
    }

    @GetMapping
    Map<String, Object> list(HttpServletRequest request) {
        return Map.of("flavors", flavors(request).stream().map(f -> Map.of("id", f.id(), "name", f.id(),
                "links", links(f))).toList());
    }

    @GetMapping("/detail")
    Map<String, Object> detail(HttpServletRequest request) {
        return Map.of("flavors", flavors(request).stream().map(FlavorsController::view).toList());
    }

    @GetMapping("/{id}")
    Map<String, Object> show(HttpServletRequest request, @PathVariable String id) {
        return Map.of("flavor", flavors(request).stream().filter(f -> f.id().equals(id)).findFirst()
                .map(FlavorsController::view)
                .orElseThrow(() -> NovaException.notFound("Flavor " + id + " could not be found.")));
    }

    private List<Flavors.Flavor> flavors(HttpServletRequest request) {
        return List.copyOf(Flavors.all(images.bases(Caller.of(request))));
    }

    private static Map<String, Object> view(Flavors.Flavor f) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("id", f.id());
        view.put("name", f.id());
        view.put("vcpus", f.vcpus());
        view.put("ram", f.ramMib());
        view.put("disk", f.diskGib());
        view.put("swap", "");
        view.put("OS-FLV-EXT-DATA:ephemeral", 0);
        view.put("OS-FLV-DISABLED:disabled", false);
        view.put("os-flavor-access:is_public", true);
        view.put("rxtx_factor", 1.0);
        view.put("links", links(f));
        return view;
    }

    private static List<Map<String, String>> links(Flavors.Flavor f) {
        return List.of(Map.of("rel", "self", "href", "/v2.1/flavors/" + f.id()));
    }
}
