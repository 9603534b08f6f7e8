package io.cloudlet.agent.host;

import java.util.Locale;

/**
 * How a host brings the NICs of a resumed VM (a resumed base VM, a synthesised launch VM, a
 * handed-off VM) onto its own network. A per-host setting: {@code cloudlet --nic-mode} and the
 * agent's {@code cloudlet.agent.nic-mode}. The guest requirements of each mode are in
 * docs/compute-agent.md, "Guest networking".
 */
public enum NicMode {

    /**
     * The VM keeps the NICs its device state was saved with (same id, MAC and PCI slot) on QEMU user
     * networking, whose guest-side view (10.0.2.15/24, gateway and DNS at 10.0.2.2/.3, the
     * gateway's MAC) is the same in every QEMU on every host; the instance's port forwards are set
     * on the new QEMU's user-network backend. Nothing in the guest is stale, so nothing in it has to
     * react: no hot-plug, no DHCP. The default.
     */
    KEEP,

    /**
     * Each NIC of the saved VM is unplugged after the resume and a new one is plugged at the same
     * PCI slot (so slot-derived names like {@code enp0s16} hold), carrying the port forwards: for
     * networks where the guest's addressing differs at the new site. The guest must configure
     * hot-plugged NICs (DHCP on a NIC that appears). MAC policy: a new instance (resume, synthesis)
     * gets a new random {@code 52:54:00} MAC per NIC, so instances of one base VM never share one
     * on a shared segment; a handed-off instance keeps its MACs.
     */
    REPLACE;

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
