package io.cloudlet.agent.hypervisor;

/** A VM's power state as the hypervisor reports it. */
public enum VmState {
    RUNNING, PAUSED, SHUTOFF, CRASHED, OTHER
}
