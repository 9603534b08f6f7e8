package io.cloudlet.agent.host;

import static org.assertj.core.api.Assertions.assertThat;

import io.cloudlet.agent.hypervisor.Hypervisor;
import io.cloudlet.agent.hypervisor.Nic;
import io.cloudlet.agent.hypervisor.PortForward;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What each {@link NicMode} starts a VM with and does to it once it runs, without a hypervisor. */
class GuestNetworkTests {

    private static final List<PortForward> FORWARDS = List.of(new PortForward("127.0.0.1", 20000, 80));
    private static final Nic FIRST = new Nic("nic0", "52:54:00:00:00:01", 0x10, List.of());
    private static final Nic SECOND = new Nic("nic1", "52:54:00:00:00:02", 0x11,
            List.of(new PortForward("0.0.0.0", 8080, 80)));

    private final List<String> calls = new ArrayList<>();
    private final Hypervisor recording = (Hypervisor) Proxy.newProxyInstance(getClass().getClassLoader(),
            new Class<?>[] {Hypervisor.class}, (proxy, method, args) -> {
                calls.add(method.getName() + Arrays.toString(args));
                return null;
            });
    private int macs;

    private GuestNetwork network(NicMode mode) {
        return new GuestNetwork(recording, mode, () -> String.format("52:54:00:aa:00:%02x", ++macs));
    }

    @Test
    void keepStartsWithTheSavedNicsAndForwardsOnThePrimaryOneAndTouchesNothingAfterwards() {
        GuestNetwork keep = network(NicMode.KEEP);
        List<Nic> started = keep.atStart(List.of(SECOND, FIRST), FORWARDS);

        assertThat(started).containsExactly(SECOND.withoutForwards(), FIRST.withForwards(FORWARDS));
        assertThat(keep.connect("vm", started, FORWARDS, GuestNetwork.Macs.FRESH)).isEqualTo(started);
        assertThat(calls).isEmpty();
    }

    @Test
    void replaceUnplugsEachNicAndPlugsANewOneAtItsSlotWithAFreshMac() {
        GuestNetwork replace = network(NicMode.REPLACE);
        List<Nic> started = replace.atStart(List.of(FIRST, SECOND), FORWARDS);
        assertThat(started).containsExactly(FIRST, SECOND.withoutForwards());

        List<Nic> now = replace.connect("vm", started, FORWARDS, GuestNetwork.Macs.FRESH);

        assertThat(now).containsExactly(new Nic("nic0", "52:54:00:aa:00:01", 0x10, FORWARDS),
                new Nic("nic1", "52:54:00:aa:00:02", 0x11, List.of()));
        assertThat(calls).containsExactly("detachNic[vm, nic0]", "attachNic[vm, " + now.get(0) + "]",
                "detachNic[vm, nic1]", "attachNic[vm, " + now.get(1) + "]");
    }

    @Test
    void replaceKeepsTheMacsOfAnInstanceThatArrivedByHandoff() {
        List<Nic> now = network(NicMode.REPLACE).connect("vm", List.of(FIRST), FORWARDS, GuestNetwork.Macs.SAVED);

        assertThat(now).containsExactly(FIRST.withForwards(FORWARDS));
        assertThat(calls).containsExactly("detachNic[vm, nic0]", "attachNic[vm, " + now.get(0) + "]");
    }

    @Test
    void aVmSavedWithoutNicsGetsOneOnlyWhenItHasForwardsInEitherMode() {
        for (NicMode mode : NicMode.values()) {
            calls.clear();
            GuestNetwork network = network(mode);
            assertThat(network.atStart(List.of(), FORWARDS)).isEmpty();
            assertThat(network.connect("vm", List.of(), List.of(), GuestNetwork.Macs.FRESH)).isEmpty();
            assertThat(calls).isEmpty();

            List<Nic> now = network.connect("vm", List.of(), FORWARDS, GuestNetwork.Macs.FRESH);

            assertThat(now).singleElement().satisfies(nic -> {
                assertThat(nic.pciSlot()).isEqualTo(Nic.FIRST_SLOT);
                assertThat(nic.forwards()).isEqualTo(FORWARDS);
            });
            assertThat(calls).containsExactly("attachNic[vm, " + now.get(0) + "]");
        }
    }
}
