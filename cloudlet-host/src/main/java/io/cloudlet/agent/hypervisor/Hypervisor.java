package io.cloudlet.agent.hypervisor;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * What the agent needs from a virtualisation host. VMs are named; a name is unique on the host.
 * Every method is synchronous and fails with {@link HypervisorException} and a readable message.
 *
 * <p>Guest RAM is always a shared file ({@link MachineSpec#memoryFile()}), so a snapshot is the
 * RAM file plus the small device state {@link #saveDeviceState} writes, and {@link #resume} starts
 * a VM from exactly those two.
 */
public interface Hypervisor extends AutoCloseable {

    /** What this host runs: emulator version and default machine type. */
    HostInfo host();

    /**
     * Fails with {@link HypervisorException} unless this host can run guests with CPU model
     * {@code cpuModel} and machine type {@code machineType}; nothing is started.
     */
    void checkRunnable(String cpuModel, String machineType);

    /** Defines and boots a VM from its kernel or disk; returns when it runs. */
    void boot(MachineSpec spec);

    /**
     * Starts a VM paused, loads {@code deviceState} (written by {@link #saveDeviceState} of a VM
     * with the same spec but names and paths) and runs it. The RAM file must hold the RAM content
     * that goes with the device state. On failure the VM is gone.
     */
    void resume(MachineSpec spec, Path deviceState);

    /**
     * The first half of {@link #resume}: defines and starts the VM paused, waiting for its device
     * state. Its images are opened but not used until {@link #completeIncoming}, so they may still
     * be rewritten in place (as a receiving handoff does). On failure the VM is gone.
     */
    void prepareIncoming(MachineSpec spec);

    /** The second half of {@link #resume}: loads {@code deviceState} into the waiting VM and runs it. On failure the VM is gone. */
    void completeIncoming(String name, Path deviceState);

    /**
     * What a migration by the hypervisor itself did.
     *
     * @param total       start of the migration to the destination VM running
     * @param downtime    source stopped to the destination VM running
     * @param bytes       bytes the hypervisor sent (memory and disk)
     * @param downtimeLimitMillis the downtime limit in effect at the end (raised from the default
     *                    300 ms when the migration did not converge)
     */
    record MigrationStats(java.time.Duration total, java.time.Duration downtime, long bytes,
                          long downtimeLimitMillis) {
    }

    /**
     * The baseline VM handoff is measured against: the hypervisor's own live migration of running
     * VM {@code source} to a new VM {@code destination} on this host, as a migration without shared
     * storage does it: the whole disk mirrored to the destination (over NBD), then all of RAM by
     * pre-copy, at most {@code bytesPerSecond} for RAM. The destination's images must exist, its
     * disk as large as the source's. {@code route} maps each socket the destination listens on to
     * the one the source connects to (identity, or a relay that emulates a link). Afterwards the
     * destination runs and the source is gone.
     */
    MigrationStats migrateWithStorage(String source, MachineSpec destination, long bytesPerSecond,
                                      java.util.function.UnaryOperator<Path> route);

    /** Pauses a running VM (no-op when paused). */
    void pause(String name);

    /** Runs a paused VM. */
    void unpause(String name);

    /**
     * Pauses the VM and writes its device state (everything but the shared RAM file) to
     * {@code target}. The VM stays paused; its RAM file is consistent with the state until
     * {@link #unpause}.
     */
    void saveDeviceState(String name, Path target);

    /** Hot-plugs a NIC and its host-side network with the NIC's port forwards. */
    void attachNic(String name, Nic nic);

    /** Unplugs a NIC (the guest acknowledges the ACPI eject) and removes its host-side network. */
    void detachNic(String name, String nicId);

    /** The VM's power state, empty when there is no such VM. */
    Optional<VmState> state(String name);

    /** Names of the VMs whose name starts with {@code prefix}. */
    List<String> list(String prefix);

    /** Stops and removes the VM; no-op when it does not exist. */
    void destroy(String name);

    @Override
    void close();
}
