package io.cloudlet.agent.service;

import io.cloudlet.agent.host.BaseVmView;
import io.cloudlet.agent.host.CloudletHost;
import io.cloudlet.agent.host.InstanceView;
import io.cloudlet.contracts.CloudletEvent;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

import java.lang.management.ManagementFactory;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

/**
 * Announces the agent: its capacity, the base VMs it caches, free ports and every instance with
 * its hypervisor state. Sent every interval and right after each change.
 */
@Component
class Heartbeat {

    private final CloudletHost host;
    private final AgentProperties properties;
    private final Events events;

    Heartbeat(CloudletHost host, AgentProperties properties, Events events) {
        this.host = host;
        this.properties = properties;
        this.events = events;
    }

    @Scheduled(fixedDelayString = "${cloudlet.agent.heartbeat-interval}")
    void beat() {
        publishNow();
    }

    synchronized void publishNow() {
        events.publish(current());
    }

    CloudletEvent.AgentHeartbeat current() {
        List<BaseVmView> bases = host.listBases();
        Map<String, Integer> memoryByBase = bases.stream()
                .collect(Collectors.toMap(BaseVmView::baseId, BaseVmView::memoryMib, (a, b) -> a));
        List<InstanceView> instances = host.listInstances();
        long used = instances.stream().mapToLong(i -> memoryByBase.getOrDefault(i.baseId(), 0)).sum();
        long total = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getTotalMemorySize() >> 20;
        return new CloudletEvent.AgentHeartbeat(UUID.randomUUID().toString(), Instant.now(), properties.hostId(),
                properties.address(), Runtime.getRuntime().availableProcessors(), total, Math.max(0, total - used),
                properties.lastPort() - properties.firstPort() + 1 - claimedPorts(instances).size(),
                bases.stream().map(BaseVmView::baseId).toList(),
                instances.stream().map(i -> new CloudletEvent.InstanceState(i.name(), i.state())).toList());
    }

    static Set<Integer> claimedPorts(List<InstanceView> instances) {
        Set<Integer> ports = new HashSet<>();
        instances.forEach(i -> i.forwards().forEach(f -> ports.add(f.hostPort())));
        return ports;
    }
}
