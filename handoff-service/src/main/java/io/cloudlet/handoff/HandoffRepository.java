package io.cloudlet.handoff;

import java.util.Collection;
import java.util.List;
import java.util.UUID;
import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.Modifying;
import org.springframework.data.jpa.repository.Query;

interface HandoffRepository extends JpaRepository<HandoffRecord, UUID> {

    List<HandoffRecord> findByProjectIdOrderByCreatedAtDesc(String projectId);

    List<HandoffRecord> findByStateIn(Collection<HandoffRecord.State> states);

    @Modifying
    @Query(value = "insert into processed_message (id, processed_at) values (:id, now()) on conflict do nothing",
            nativeQuery = true)
    int markProcessed(String id);
}
