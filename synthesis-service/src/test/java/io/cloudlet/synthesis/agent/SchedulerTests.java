package io.cloudlet.synthesis.agent;

import io.cloudlet.synthesis.SynthesisProperties;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

class SchedulerTests {

    private final AgentRepository agents = mock(AgentRepository.class);
    private final Scheduler scheduler = new Scheduler(agents, new SynthesisProperties(URI.create("http://images"), null,
            Duration.ofSeconds(10), null));

    @Test
    void anAgentThatCachesTheBaseVmWinsOverOneWithMoreFreeRam() {
        alive(agent("roomy", 8192, 100, "other-base"), agent("cached", 1024, 100, "b1"));
        assertThat(scheduler.place("b1", 256, 1, Map.of())).map(AgentRecord::hostId).hasValue("cached");
        assertThat(scheduler.place("b2", 256, 1, Map.of())).map(AgentRecord::hostId).hasValue("roomy");
    }

    @Test
    void ramPromisedToServersStillBuildingAndFreePortsCount() {
        alive(agent("cached", 1024, 100, "b1"), agent("roomy", 8192, 100, ""));
        assertThat(scheduler.place("b1", 512, 1, Map.of("cached", 768L))).map(AgentRecord::hostId).hasValue("roomy");
        alive(agent("cached", 1024, 0, "b1"));
        assertThat(scheduler.place("b1", 256, 1, Map.of())).isEmpty();
        assertThat(scheduler.place("b1", 256, 0, Map.of())).map(AgentRecord::hostId).hasValue("cached");
    }

    @Test
    void onlyAgentsWithARecentHeartbeatAreCandidates() {
        AgentRecord fresh = agent("fresh", 4096, 10, "");
        when(agents.findByLastSeenAfter(any())).thenAnswer(call -> {
            Instant cutoff = call.getArgument(0);
            assertThat(cutoff).isBetween(Instant.now().minusSeconds(11), Instant.now().minusSeconds(9));
            return List.of(fresh);
        });
        assertThat(scheduler.place("b1", 256, 1, Map.of())).hasValue(fresh);
        assertThat(scheduler.anyAlive()).isTrue();
    }

    private void alive(AgentRecord... records) {
        when(agents.findByLastSeenAfter(any())).thenReturn(List.of(records));
    }

    private static AgentRecord agent(String host, long freeMib, int freePorts, String bases) {
        AgentRecord agent = new AgentRecord(host);
        agent.update("10.0.0.1", 2, 16384, freeMib, freePorts, bases.isEmpty() ? List.of() : List.of(bases.split(",")),
                Instant.now());
        return agent;
    }
}
