/**
 * The hypervisor boundary: {@link io.cloudlet.agent.hypervisor.Hypervisor} describes what the
 * agent asks of a virtualisation host (boot, pause, device-state snapshot, resume from a snapshot,
 * NIC hot-plug, destroy, list) in terms of plain records; {@code LibvirtHypervisor} implements it
 * on libvirt + QEMU and is the only class that imports {@code org.libvirt}. libvirt XML, UUIDs and
 * QMP never leave this package.
 */
package io.cloudlet.agent.hypervisor;
