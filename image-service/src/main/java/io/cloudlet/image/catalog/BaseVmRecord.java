package io.cloudlet.image.catalog;

import jakarta.persistence.CascadeType;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.FetchType;
import jakarta.persistence.Id;
import jakarta.persistence.JoinColumn;
import jakarta.persistence.OneToMany;
import jakarta.persistence.OrderBy;
import jakarta.persistence.Table;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** A base VM this cloudlet holds, with the blobs of its package members. */
@Entity
@Table(name = "base_vm")
class BaseVmRecord {

    @Id
    @Column(name = "base_id")
    String baseId;
    String name;
    int vcpus;
    @Column(name = "memory_mib")
    int memoryMib;
    @Column(name = "disk_bytes")
    long diskBytes;
    @Column(name = "memory_bytes")
    long memoryBytes;
    @Column(name = "cpu_model")
    String cpuModel;
    @Column(name = "machine_type")
    String machineType;
    @Column(name = "emulator_version")
    String emulatorVersion;
    @Column(name = "vm_template")
    String vmTemplate;
    @Column(name = "created_at")
    Instant createdAt;

    @OneToMany(cascade = CascadeType.ALL, orphanRemoval = true, fetch = FetchType.EAGER)
    @JoinColumn(name = "base_id")
    @OrderBy("position")
    List<BaseMember> members = new ArrayList<>();

    protected BaseVmRecord() {
    }

    BaseVmRecord(String baseId, String name, int vcpus, int memoryMib, long diskBytes, long memoryBytes,
                 String cpuModel, String machineType, String emulatorVersion, String vmTemplate, Instant createdAt) {
        this.baseId = baseId;
        this.name = name;
        this.vcpus = vcpus;
        this.memoryMib = memoryMib;
        this.diskBytes = diskBytes;
        this.memoryBytes = memoryBytes;
        this.cpuModel = cpuModel;
        this.machineType = machineType;
        this.emulatorVersion = emulatorVersion;
        this.vmTemplate = vmTemplate;
        this.createdAt = createdAt;
    }
}
