package io.cloudlet.agent.host;

import java.time.Instant;

/**
 * A registered base VM, for listings.
 *
 * @param name            its name
 * @param baseId          content-derived id
 * @param createdAt       when it was sealed
 * @param diskBytes       base disk size
 * @param memoryBytes     base memory size
 * @param vcpus           virtual CPUs
 * @param memoryMib       RAM in MiB
 * @param cpuModel        guest CPU model
 * @param machineType     QEMU machine type
 * @param emulatorVersion QEMU version it was captured under
 */
public record BaseVmView(String name, String baseId, Instant createdAt, long diskBytes, long memoryBytes, int vcpus,
                         int memoryMib, String cpuModel, String machineType, String emulatorVersion) {
}
