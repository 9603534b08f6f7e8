package io.cloudlet.agent.host;

import io.cloudlet.agent.hypervisor.Nic;
import java.util.List;

/**
 * What an overlay carries about its launch VM beyond disk, memory and device state: the NICs the
 * device state was saved with (the base VM's were replaced after its resume). Stored as the
 * overlay attachment {@value #ATTACHMENT}.
 *
 * @param nics NICs present at the snapshot, recreated without forwards before being replaced
 */
record LaunchState(List<Nic> nics) {

    static final String ATTACHMENT = "launch.json";
    static final String DEVICE_STATE = "device.state";

    LaunchState {
        nics = nics == null ? List.of() : List.copyOf(nics);
    }
}
