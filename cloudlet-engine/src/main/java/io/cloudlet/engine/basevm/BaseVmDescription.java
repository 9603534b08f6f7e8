package io.cloudlet.engine.basevm;

import java.util.List;

/**
 * What the caller knows about a base VM being sealed; the engine adds sizes, digests and the id.
 *
 * @param name            operator-chosen name
 * @param machineType     QEMU machine type, e.g. {@code pc-i440fx-7.2}
 * @param cpuModel        guest CPU model, e.g. {@code core2duo}
 * @param emulatorVersion emulator version, e.g. {@code 7.2.22}
 * @param vmTemplate      hypervisor-specific description of the VM
 * @param attachments     names of further files in the base VM directory to carry along
 */
public record BaseVmDescription(
        String name,
        String machineType,
        String cpuModel,
        String emulatorVersion,
        String vmTemplate,
        List<String> attachments) {

    public BaseVmDescription {
        attachments = attachments == null ? List.of() : List.copyOf(attachments);
    }
}
