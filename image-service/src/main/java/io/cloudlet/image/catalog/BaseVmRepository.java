package io.cloudlet.image.catalog;

import org.springframework.data.jpa.repository.JpaRepository;

import java.util.Optional;

interface BaseVmRepository extends JpaRepository<BaseVmRecord, String> {

    Optional<BaseVmRecord> findByName(String name);
}
