package io.cloudlet.image.catalog;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Glance v2 image documents: Glance's fields, with cloudlet properties at the top level as Glance keeps them. */
final class ImageViews {

    private ImageViews() {
    }

    static Map<String, Object> image(ImageRecord image, BaseVmRecord base) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("id", image.id.toString());
        view.put("name", image.name);
        view.put("status", image.status.name());
        view.put("visibility", image.visibility);
        view.put("owner", image.owner);
        view.put("protected", image.type() != CloudletType.OVERLAY);
        view.put("size", image.size);
        view.put("virtual_size", null);
        view.put("os_hash_algo", image.blobSha256 == null ? null : "sha256");
        view.put("os_hash_value", image.blobSha256);
        view.put("container_format", "bare");
        view.put("disk_format", "raw");
        view.put("min_disk", base == null ? 0 : (int) Math.ceil(base.diskBytes / (double) (1L << 30)));
        view.put("min_ram", base == null ? 0 : base.memoryMib);
        view.put("tags", List.of());
        view.put("created_at", image.createdAt.toString());
        view.put("updated_at", image.updatedAt.toString());
        view.put("file", "/v2/images/" + image.id + "/file");
        view.put("self", "/v2/images/" + image.id);
        view.put("schema", "/v2/schemas/image");
        view.put("cloudlet_type", image.type().wireName());
        view.put("cloudlet_base_id", image.baseId);
        if (base != null && image.type() == CloudletType.BASE_DISK) {
            view.put("cloudlet_base_name", base.name);
            view.put("cloudlet_vcpus", base.vcpus);
            view.put("cloudlet_vm_template", base.vmTemplate);
        }
        return view;
    }

    static Map<String, Object> base(BaseVmRecord base, List<ImageRecord> images) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("base_id", base.baseId);
        view.put("name", base.name);
        view.put("vcpus", base.vcpus);
        view.put("memory_mib", base.memoryMib);
        view.put("disk_bytes", base.diskBytes);
        view.put("memory_bytes", base.memoryBytes);
        view.put("cpu_model", base.cpuModel);
        view.put("machine_type", base.machineType);
        view.put("emulator_version", base.emulatorVersion);
        view.put("created_at", base.createdAt.toString());
        Map<String, String> ids = new LinkedHashMap<>();
        images.stream().filter(i -> i.type() != CloudletType.OVERLAY)
                .forEach(i -> ids.put(i.type().wireName(), i.id.toString()));
        view.put("images", ids);
        view.put("package", "/v2/cloudlet/bases/" + base.baseId + "/package");
        return view;
    }
}
