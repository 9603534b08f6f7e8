package io.cloudlet.agent.hypervisor;

import java.nio.file.Path;
import java.util.List;

/**
 * Everything a VM is started from. Two specs that differ only in {@link #name}, {@link #owner}
 * and file paths describe the same virtual hardware, so a device state saved under one loads
 * under the other.
 *
 * @param name        VM name, unique on the host
 * @param owner       who owns the VM (the agent's home), recorded with the domain
 * @param vcpus       virtual CPUs
 * @param memoryMib   RAM in MiB
 * @param memoryFile  the file that is the guest's RAM (created when missing)
 * @param disk        the disk image
 * @param diskFormat  {@code raw} or {@code qcow2}
 * @param diskBacking the raw image a qcow2 disk is layered on, or null
 * @param kernel      kernel for direct boot, or null to boot from the disk
 * @param initrd      initrd for direct boot, or null
 * @param cmdline     kernel command line, or null
 * @param cpuModel    guest CPU model, e.g. {@code core2duo}
 * @param machineType QEMU machine type, e.g. {@code pc-i440fx-7.2}
 * @param consoleLog  file that receives the serial console
 * @param nics        NICs present from the start
 */
public record MachineSpec(
        String name,
        String owner,
        int vcpus,
        int memoryMib,
        Path memoryFile,
        Path disk,
        String diskFormat,
        Path diskBacking,
        Path kernel,
        Path initrd,
        String cmdline,
        String cpuModel,
        String machineType,
        Path consoleLog,
        List<Nic> nics) {

    public MachineSpec {
        nics = nics == null ? List.of() : List.copyOf(nics);
    }
}
