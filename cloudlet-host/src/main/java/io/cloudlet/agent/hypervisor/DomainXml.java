package io.cloudlet.agent.hypervisor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The libvirt domain XML for a {@link MachineSpec}. The device set depends only on the spec's
 * hardware fields, so a device state saved from one domain loads into the domain of another spec
 * that differs in names and paths only.
 *
 * <p>Fixed devices: a virtio disk at PCI slot 4 and a serial console to a file; no USB, balloon,
 * graphics or default NIC. NICs sit at the slots their {@link Nic} names; RAM is a shared
 * memory-backend-file given on the QEMU command line (libvirt cannot name the file itself).
 */
final class DomainXml {

    static final String NAMESPACE = "https://cloudlet.dev/xmlns/libvirt/1";

    private DomainXml() {
    }

    static String of(MachineSpec spec, boolean incoming) {
        StringBuilder xml = new StringBuilder(2048);
        xml.append("<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n");
        xml.append("  <name>").append(escape(spec.name())).append("</name>\n");
        xml.append("  <metadata><cloudlet:vm xmlns:cloudlet='").append(NAMESPACE).append("' owner='")
                .append(escape(spec.owner())).append("'/></metadata>\n");
        xml.append("  <memory unit='MiB'>").append(spec.memoryMib()).append("</memory>\n");
        xml.append("  <vcpu>").append(spec.vcpus()).append("</vcpu>\n");
        xml.append("  <os>\n    <type arch='x86_64' machine='").append(escape(spec.machineType())).append("'>hvm</type>\n");
        if (spec.kernel() != null) {
            xml.append("    <kernel>").append(path(spec.kernel())).append("</kernel>\n");
            if (spec.initrd() != null) {
                xml.append("    <initrd>").append(path(spec.initrd())).append("</initrd>\n");
            }
            if (spec.cmdline() != null) {
                xml.append("    <cmdline>").append(escape(spec.cmdline())).append("</cmdline>\n");
            }
        } else {
            xml.append("    <boot dev='hd'/>\n");
        }
        xml.append("  </os>\n");
        // ACPI: PCI hot-plug of NICs needs it.
        xml.append("  <features><acpi/></features>\n");
        xml.append("  <cpu mode='custom' match='exact'><model fallback='forbid'>").append(escape(spec.cpuModel()))
                .append("</model></cpu>\n");
        xml.append("  <clock offset='utc'/>\n");
        xml.append("  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot><on_crash>destroy</on_crash>\n");
        xml.append("  <devices>\n");
        xml.append("    <disk type='file' device='disk'>\n");
        xml.append("      <driver name='qemu' type='").append(escape(spec.diskFormat())).append("'/>\n");
        xml.append("      <source file='").append(path(spec.disk())).append("'/>\n");
        if (spec.diskBacking() != null) {
            xml.append("      <backingStore type='file'><format type='raw'/><source file='")
                    .append(path(spec.diskBacking())).append("'/></backingStore>\n");
        }
        xml.append("      <target dev='vda' bus='virtio'/>\n");
        xml.append("      <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>\n");
        xml.append("    </disk>\n");
        xml.append("    <serial type='file'><source path='").append(path(spec.consoleLog()))
                .append("'/><target port='0'/></serial>\n");
        xml.append("    <controller type='usb' model='none'/>\n");
        xml.append("    <memballoon model='none'/>\n");
        xml.append("  </devices>\n");
        // Files are the agent's own; libvirt must not relabel or chown them.
        xml.append("  <seclabel type='none'/>\n");
        xml.append("  <qemu:commandline>\n");
        for (String argument : qemuArguments(spec, incoming)) {
            xml.append("    <qemu:arg value='").append(escape(argument)).append("'/>\n");
        }
        xml.append("  </qemu:commandline>\n");
        xml.append("</domain>\n");
        return xml.toString();
    }

    private static List<String> qemuArguments(MachineSpec spec, boolean incoming) {
        List<String> arguments = new ArrayList<>();
        arguments.add("-object");
        arguments.add("memory-backend-file,id=cloudlet-ram,size=" + spec.memoryMib() + "M,mem-path="
                + option(spec.memoryFile().toAbsolutePath().toString()) + ",share=on");
        arguments.add("-machine");
        arguments.add("memory-backend=cloudlet-ram");
        for (Nic nic : spec.nics()) {
            StringBuilder netdev = new StringBuilder("user,id=host").append(nic.id());
            for (PortForward forward : nic.forwards()) {
                netdev.append(",hostfwd=tcp:").append(forward.hostAddress()).append(':').append(forward.hostPort())
                        .append("-:").append(forward.guestPort());
            }
            arguments.add("-netdev");
            arguments.add(netdev.toString());
            arguments.add("-device");
            arguments.add("virtio-net-pci,netdev=host" + nic.id() + ",id=" + nic.id() + ",mac=" + nic.mac()
                    + ",bus=pci.0,addr=0x" + Integer.toHexString(nic.pciSlot()));
        }
        if (incoming) {
            arguments.add("-incoming");
            arguments.add("defer");
        }
        return arguments;
    }

    /** A value inside a QEMU option list, where a comma is written twice. */
    private static String option(String value) {
        return value.replace(",", ",,");
    }

    private static String path(Path path) {
        return escape(path.toAbsolutePath().toString());
    }

    static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;")
                .replace("\"", "&quot;");
    }
}
