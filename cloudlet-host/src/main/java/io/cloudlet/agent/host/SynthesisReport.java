package io.cloudlet.agent.host;

import java.time.Duration;

/**
 * The outcome of a synthesis with its phase timings.
 *
 * @param instance     the new instance
 * @param overlayBytes size of the overlay
 * @param fetch        until the overlay's last byte was read (overlaps apply when streaming)
 * @param apply        header to rebuilt launch disk and memory
 * @param resume       VM start from the device state, NIC replacement included
 * @param total        the whole operation
 */
public record SynthesisReport(InstanceView instance, long overlayBytes, Duration fetch, Duration apply, Duration resume,
                              Duration total) {
}
