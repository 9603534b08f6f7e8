package io.cloudlet.agent.host;

import io.cloudlet.agent.hypervisor.Hypervisor;
import io.cloudlet.agent.hypervisor.Nic;
import io.cloudlet.agent.hypervisor.PortForward;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Supplier;

/**
 * Brings the NICs of a VM resumed from a saved device state onto this host's network, as the
 * host's {@link NicMode} says: which NICs the VM is started with ({@link #atStart}) and what is
 * done once it runs ({@link #connect}). The instance's port forwards always sit on its primary
 * NIC, the one at the lowest PCI slot.
 *
 * <p>A VM saved without any NIC gets one hot-plugged (at slot {@value Nic#FIRST_SLOT}) only when
 * the instance has port forwards, in either mode; its guest must then configure a hot-plugged NIC.
 */
final class GuestNetwork {

    /** Whose MACs a {@link NicMode#REPLACE} NIC gets. */
    enum Macs {
        /** New random MACs: a new instance of a base VM or launch VM, one of many from the same snapshot. */
        FRESH,
        /** The saved NICs' MACs: the same instance arriving by handoff. */
        SAVED
    }

    private final Hypervisor hypervisor;
    private final NicMode mode;
    private final Supplier<String> randomMac;

    /**
     * @param hypervisor runs the VMs
     * @param mode       how NICs are handled on this host
     * @param randomMac  new {@code 52:54:00:xx:xx:xx} MACs
     */
    GuestNetwork(Hypervisor hypervisor, NicMode mode, Supplier<String> randomMac) {
        this.hypervisor = hypervisor;
        this.mode = mode;
        this.randomMac = randomMac;
    }

    NicMode mode() {
        return mode;
    }

    /**
     * The NICs to start the VM with: exactly the saved ones (id, MAC, slot), since the device state
     * must find the devices it was saved with. In {@link NicMode#KEEP} the primary one carries
     * {@code forwards}; in {@link NicMode#REPLACE} none carries any (they are replaced at once).
     *
     * @param saved    the NICs the device state was saved with (their forwards are ignored)
     * @param forwards the instance's host port forwards on this host
     */
    List<Nic> atStart(List<Nic> saved, List<PortForward> forwards) {
        List<Nic> nics = new ArrayList<>();
        Nic primary = primary(saved);
        for (Nic nic : saved) {
            nics.add(mode == NicMode.KEEP && nic == primary ? nic.withForwards(forwards) : nic.withoutForwards());
        }
        return nics;
    }

    /**
     * Connects the just-resumed VM {@code vm}, started with {@code started} (from {@link #atStart}),
     * and returns the NICs it has afterwards. {@link NicMode#KEEP}: nothing to do. {@link
     * NicMode#REPLACE}: each NIC is unplugged (the guest acknowledges the ACPI eject) and a new one
     * plugged at its slot with the same id, MACs as {@code macs} says, the primary one carrying
     * {@code forwards}.
     *
     * @throws io.cloudlet.agent.hypervisor.HypervisorException when a NIC cannot be unplugged or
     *         plugged (the caller discards the VM)
     */
    List<Nic> connect(String vm, List<Nic> started, List<PortForward> forwards, Macs macs) {
        if (started.isEmpty()) {
            if (forwards.isEmpty()) {
                return List.of();
            }
            Nic added = new Nic("nic0", randomMac.get(), Nic.FIRST_SLOT, forwards);
            hypervisor.attachNic(vm, added);
            return List.of(added);
        }
        if (mode == NicMode.KEEP) {
            return started;
        }
        Nic primary = primary(started);
        List<Nic> replaced = new ArrayList<>();
        for (Nic old : started) {
            hypervisor.detachNic(vm, old.id());
            Nic fresh = new Nic(old.id(), macs == Macs.SAVED ? old.mac() : randomMac.get(), old.pciSlot(),
                    old == primary ? forwards : List.of());
            hypervisor.attachNic(vm, fresh);
            replaced.add(fresh);
        }
        return replaced;
    }

    private static Nic primary(List<Nic> nics) {
        return nics.stream().min(Comparator.comparingInt(Nic::pciSlot)).orElse(null);
    }
}
