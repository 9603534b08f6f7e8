package io.cloudlet.agent.service;

import io.cloudlet.agent.host.CloudletHost;
import io.cloudlet.agent.hypervisor.LibvirtHypervisor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Opens the host (plain Java, no Spring inside) and reconciles it with libvirt before any command
 * is consumed: orphan VMs, unfinished and lost instances from before a crash or restart go first.
 */
@Configuration(proxyBeanMethods = false)
class HostConfiguration {

    private static final Logger log = LoggerFactory.getLogger(HostConfiguration.class);

    @Bean(destroyMethod = "close")
    CloudletHost cloudletHost(AgentProperties properties) {
        CloudletHost host = CloudletHost.open(properties.home(), LibvirtHypervisor.connect(properties.connect()),
                properties.nicMode());
        CloudletHost.ReconcileReport report = host.reconcile();
        log.info("NIC mode {}", host.nicMode());
        log.info("reconciled home {}: destroyed orphan VMs {}, removed unfinished instances {}, lost instances {}",
                host.home(), report.orphanVms(), report.unfinished(), report.lost());
        return host;
    }
}
