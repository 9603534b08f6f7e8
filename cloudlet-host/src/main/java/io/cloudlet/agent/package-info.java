/**
 * The compute agent: everything a cloudlet host does with virtual machines. {@code hypervisor}
 * is the narrow interface to libvirt/QEMU (its one implementation is the only code that imports
 * {@code org.libvirt}); {@code host} holds the operations (base VMs, resume, overlay creation,
 * synthesis, terminate) over a home directory; {@code fetch} streams overlays over HTTP.
 */
package io.cloudlet.agent;
