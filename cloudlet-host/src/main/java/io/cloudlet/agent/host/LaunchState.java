package io.cloudlet.agent.host;

import io.cloudlet.agent.hypervisor.Nic;
import java.util.List;

/**
 * What an overlay carries about its launch VM beyond disk, memory and device state: the NICs the
 * device state was saved with (with {@link NicMode#REPLACE} they may differ from the base VM's).
 * Stored as the overlay attachment {@value #ATTACHMENT} and sent with a handoff.
 *
 * @param nics NICs present at the snapshot; a VM resumed from it starts with exactly these
 *             ({@link GuestNetwork#atStart})
 */
record LaunchState(List<Nic> nics) {

    static final String ATTACHMENT = "launch.json";
    static final String DEVICE_STATE = "device.state";

    LaunchState {
        nics = nics == null ? List.of() : List.copyOf(nics);
    }
}
