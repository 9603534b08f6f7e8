package io.cloudlet.synthesis.agent;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

import java.time.Instant;
import java.util.Arrays;
import java.util.List;

/** A compute agent's last heartbeat. */
@Entity
@Table(name = "agent")
public class AgentRecord {

    @Id
    @Column(name = "host_id")
    String hostId;
    String address;
    int vcpus;
    @Column(name = "memory_mib")
    long memoryMib;
    @Column(name = "free_memory_mib")
    long freeMemoryMib;
    @Column(name = "free_ports")
    int freePorts;
    /** Comma-separated base ids. */
    @Column(name = "base_ids")
    String baseIds;
    @Column(name = "last_seen")
    Instant lastSeen;

    protected AgentRecord() {
    }

    public AgentRecord(String hostId) {
        this.hostId = hostId;
    }

    public void update(String address, int vcpus, long memoryMib, long freeMemoryMib, int freePorts,
                       List<String> baseIds, Instant seen) {
        this.address = address;
        this.vcpus = vcpus;
        this.memoryMib = memoryMib;
        this.freeMemoryMib = freeMemoryMib;
        this.freePorts = freePorts;
        this.baseIds = String.join(",", baseIds);
        this.lastSeen = seen;
    }

    public String hostId() {
        return hostId;
    }

    public Instant lastSeen() {
        return lastSeen;
    }

    boolean caches(String baseId) {
        return Arrays.asList(baseIds.split(",")).contains(baseId);
    }
}
