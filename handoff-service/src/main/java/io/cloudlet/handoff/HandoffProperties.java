package io.cloudlet.handoff;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Settings of the handoff service.
 *
 * @param prepareTimeout  how long the destination may take to have its agent listening
 * @param transferTimeout how long the source agent may take to stream the VM
 */
@ConfigurationProperties("cloudlet.handoff")
public record HandoffProperties(Duration prepareTimeout, Duration transferTimeout) {

    public HandoffProperties {
        prepareTimeout = prepareTimeout == null ? Duration.ofMinutes(2) : prepareTimeout;
        transferTimeout = transferTimeout == null ? Duration.ofMinutes(30) : transferTimeout;
    }
}
