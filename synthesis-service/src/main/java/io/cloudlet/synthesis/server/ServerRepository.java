package io.cloudlet.synthesis.server;

import org.springframework.data.jpa.repository.JpaRepository;

import java.util.Collection;
import java.util.List;
import java.util.UUID;

interface ServerRepository extends JpaRepository<ServerRecord, UUID> {

    List<ServerRecord> findByProjectIdAndStatusNotOrderByCreatedAtAsc(String projectId, ServerRecord.Status status);

    List<ServerRecord> findByStatusNotOrderByCreatedAtAsc(ServerRecord.Status status);

    List<ServerRecord> findByStatus(ServerRecord.Status status);

    List<ServerRecord> findByHostIdAndStatusIn(String hostId, Collection<ServerRecord.Status> statuses);
}
