package io.cloudlet.agent.host;

import io.cloudlet.agent.hypervisor.PortForward;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/**
 * An instance, for listings and results.
 *
 * @param name       instance name
 * @param baseName   the base VM's name
 * @param baseId     the base VM's id
 * @param origin     {@code resume}, {@code synthesis} or {@code handoff}
 * @param state      {@code running}, {@code paused}, {@code creating}, or {@code missing} when the
 *                   hypervisor has no VM for it (e.g. after a host restart)
 * @param createdAt  when it was made
 * @param forwards   host ports forwarded to the guest
 * @param consoleLog the file receiving the guest's serial console
 * @param nicMode    how its NICs were connected ({@link NicMode}); null while it is being created
 */
public record InstanceView(String name, String baseName, String baseId, String origin, String state, Instant createdAt,
                           List<PortForward> forwards, Path consoleLog, NicMode nicMode) {
}
