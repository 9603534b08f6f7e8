package io.cloudlet.agent.service;

import io.cloudlet.agent.host.NicMode;
import org.springframework.boot.context.properties.ConfigurationProperties;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Settings of one compute agent.
 *
 * @param hostId            this agent's id: its command queue and the host servers are placed on
 * @param home              the host's cloudlet home (base VMs, instances)
 * @param connect           libvirt URI
 * @param address           address at which clients reach forwarded guest ports
 * @param forwardAddress    address QEMU binds forwarded ports to
 * @param portRange         host ports handed out for forwards, {@code FIRST-LAST}
 * @param heartbeatInterval how often the agent announces itself
 * @param nicMode           how resumed VMs get onto this host's network: {@code keep} (default) or
 *                          {@code replace}; see {@link NicMode} and docs/compute-agent.md
 */
@ConfigurationProperties("cloudlet.agent")
public record AgentProperties(String hostId, Path home, String connect, String address, String forwardAddress,
                              String portRange, Duration heartbeatInterval, NicMode nicMode) {

    public AgentProperties {
        nicMode = nicMode == null ? NicMode.KEEP : nicMode;
    }

    public int firstPort() {
        return Integer.parseInt(portRange.split("-")[0].trim());
    }

    public int lastPort() {
        return Integer.parseInt(portRange.split("-")[1].trim());
    }
}
