package io.cloudlet.agent.host;

import io.cloudlet.agent.hypervisor.Nic;
import java.util.List;

/**
 * The virtual hardware of a base VM, stored as the base manifest's {@code vmTemplate}: with the
 * manifest's CPU model and machine type it rebuilds the VM its device state was saved from.
 *
 * @param vcpus     virtual CPUs
 * @param memoryMib RAM in MiB; the base memory image has exactly this size
 * @param kernel    attachment holding the kernel for direct boot, or null
 * @param initrd    attachment holding the initrd, or null
 * @param cmdline   kernel command line, or null
 * @param nics      the NICs the snapshot was taken with
 */
record MachineTemplate(int vcpus, int memoryMib, String kernel, String initrd, String cmdline, List<Nic> nics) {

    MachineTemplate {
        nics = nics == null ? List.of() : List.copyOf(nics);
    }
}
