package io.cloudlet.synthesis.agent;

import io.cloudlet.synthesis.SynthesisProperties;
import org.springframework.stereotype.Component;

import java.time.Instant;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;

/**
 * Places a server on a live agent (heartbeat within the agent timeout) with the RAM and host
 * ports it needs, counting what servers still being built there will take; among those it prefers
 * an agent that caches the base VM already (no package download), then the one with most free RAM.
 */
@Component
public class Scheduler {

    private final AgentRepository agents;
    private final SynthesisProperties properties;

    Scheduler(AgentRepository agents, SynthesisProperties properties) {
        this.agents = agents;
        this.properties = properties;
    }

    /**
     * @param pendingMemoryMib RAM of servers in BUILD per host (not yet in the agents' heartbeats)
     */
    public Optional<AgentRecord> place(String baseId, int memoryMib, int ports, Map<String, Long> pendingMemoryMib) {
        Instant cutoff = Instant.now().minus(properties.agentTimeout());
        return agents.findByLastSeenAfter(cutoff).stream()
                .filter(a -> a.freeMemoryMib - pendingMemoryMib.getOrDefault(a.hostId, 0L) >= memoryMib)
                .filter(a -> a.freePorts >= ports)
                .min(Comparator.comparing((AgentRecord a) -> !a.caches(baseId))
                        .thenComparing(a -> -(a.freeMemoryMib - pendingMemoryMib.getOrDefault(a.hostId, 0L))));
    }

    /** Whether any agent is alive at all (to tell "no agent" from "no agent with room"). */
    public boolean anyAlive() {
        return !agents.findByLastSeenAfter(Instant.now().minus(properties.agentTimeout())).isEmpty();
    }
}
