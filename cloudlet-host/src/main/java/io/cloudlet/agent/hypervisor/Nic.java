package io.cloudlet.agent.hypervisor;

import java.util.List;
import java.util.regex.Pattern;

/**
 * A virtio NIC on QEMU user networking. Its host side forwards host ports to guest ports (like
 * {@code -redir tcp:8080::80}); a NIC without forwards only gives the guest outbound access.
 *
 * @param id       device id, {@code nic0}, {@code nic1}...
 * @param mac      MAC address, {@code 52:54:00:xx:xx:xx}
 * @param pciSlot  PCI slot on the root bus, {@value #FIRST_SLOT} to {@value #LAST_SLOT}
 * @param forwards host-to-guest TCP port forwards
 */
public record Nic(String id, String mac, int pciSlot, List<PortForward> forwards) {

    /** Slots below are left to the fixed devices. */
    public static final int FIRST_SLOT = 0x10;
    public static final int LAST_SLOT = 0x1f;
    private static final Pattern ID = Pattern.compile("nic[0-9]{1,3}");
    private static final Pattern MAC = Pattern.compile("52:54:00(:[0-9a-f]{2}){3}");

    public Nic {
        forwards = forwards == null ? List.of() : List.copyOf(forwards);
        if (id == null || !ID.matcher(id).matches()) {
            throw new IllegalArgumentException("NIC id '" + id + "' is not nicN");
        }
        if (mac == null || !MAC.matcher(mac).matches()) {
            throw new IllegalArgumentException("NIC MAC '" + mac + "' is not a 52:54:00 address");
        }
        if (pciSlot < FIRST_SLOT || pciSlot > LAST_SLOT) {
            throw new IllegalArgumentException("NIC PCI slot " + pciSlot + " is outside " + FIRST_SLOT + ".."
                    + LAST_SLOT);
        }
    }

    /** The same NIC (id, MAC, slot) without port forwards. */
    public Nic withoutForwards() {
        return withForwards(List.of());
    }

    /** The same NIC (id, MAC, slot) with {@code forwards} instead of its own. */
    public Nic withForwards(List<PortForward> forwards) {
        return new Nic(id, mac, pciSlot, forwards);
    }
}
