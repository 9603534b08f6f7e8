package io.cloudlet.engine.basevm;

import java.time.Instant;
import java.util.List;

/**
 * What a base VM is: its content-derived id, image sizes and hash list digests, and what a
 * hypervisor needs to resume it exactly (machine type, CPU model, emulator version, template).
 *
 * @param formatVersion   manifest format, currently 1
 * @param baseId          SHA-256 over sizes and hash list digests, see {@link BaseVm#baseIdOf}
 * @param name            operator-chosen name
 * @param createdAt       when the base VM was sealed
 * @param disk            the raw disk image
 * @param memory          the raw memory image
 * @param machineType     QEMU machine type the memory snapshot was taken under
 * @param cpuModel        guest CPU model the memory snapshot was taken under
 * @param emulatorVersion emulator version the device state was written by
 * @param vmTemplate      hypervisor-specific description of the VM (opaque to the engine)
 * @param attachments     further files that belong to the base VM, such as the device state
 */
public record BaseVmManifest(
        int formatVersion,
        String baseId,
        String name,
        Instant createdAt,
        Image disk,
        Image memory,
        String machineType,
        String cpuModel,
        String emulatorVersion,
        String vmTemplate,
        List<Attachment> attachments) {

    public static final int FORMAT_VERSION = 1;

    public BaseVmManifest {
        attachments = attachments == null ? List.of() : List.copyOf(attachments);
    }

    /** An image's size in bytes and the SHA-256 (hex) of its hash list. */
    public record Image(long size, String hashListDigest) {
    }

    /** A file carried with the base VM, verified by its SHA-256 (hex). */
    public record Attachment(String name, long size, String sha256) {
    }
}
