package io.cloudlet.agent.host;

import io.cloudlet.agent.hypervisor.Nic;
import io.cloudlet.agent.hypervisor.PortForward;
import java.time.Instant;
import java.util.List;

/**
 * An instance as the home directory records it ({@code instances/NAME/instance.json}).
 *
 * @param name      instance name, unique in the home
 * @param baseId    the base VM it runs on
 * @param baseName  that base VM's name when the instance was made
 * @param vm        hypervisor VM name
 * @param origin    {@code resume}, {@code synthesis} or {@code handoff}
 * @param source    for synthesis: the overlay file or URL
 * @param createdAt when it was made
 * @param phase     {@code creating} while being made, {@code ready} once it runs
 * @param forwards  host ports forwarded to the guest (reserved from the start)
 * @param nics      the NICs it has now
 * @param nicMode   how its NICs were connected when it became ready (null while creating, and in
 *                  records written before NIC modes existed)
 */
record InstanceRecord(
        String name,
        String baseId,
        String baseName,
        String vm,
        String origin,
        String source,
        Instant createdAt,
        String phase,
        List<PortForward> forwards,
        List<Nic> nics,
        NicMode nicMode) {

    static final String CREATING = "creating";
    static final String READY = "ready";

    InstanceRecord {
        forwards = forwards == null ? List.of() : List.copyOf(forwards);
        nics = nics == null ? List.of() : List.copyOf(nics);
    }

    InstanceRecord ready(List<Nic> currentNics, NicMode connectedWith) {
        return new InstanceRecord(name, baseId, baseName, vm, origin, source, createdAt, READY, forwards, currentNics,
                connectedWith);
    }
}
