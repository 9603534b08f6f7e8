package io.cloudlet.agent.hypervisor;

/**
 * What a host runs guests with.
 *
 * @param emulatorVersion QEMU version, e.g. {@code 7.2.22}
 * @param machineType     the canonical default machine type, e.g. {@code pc-i440fx-7.2}
 * @param accelerator     {@code tcg} or {@code kvm}
 */
public record HostInfo(String emulatorVersion, String machineType, String accelerator) {
}
