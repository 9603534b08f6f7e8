package io.cloudlet.synthesis.agent;

import org.springframework.data.jpa.repository.JpaRepository;

import java.time.Instant;
import java.util.List;

public interface AgentRepository extends JpaRepository<AgentRecord, String> {

    List<AgentRecord> findByLastSeenAfter(Instant cutoff);
}
