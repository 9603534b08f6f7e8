/**
 * The handoff service: orchestrates moving a running server to another cloudlet. It checks that the
 * destination accepts the caller's token there and holds the same base VM and flavor, has the
 * destination create a server that waits for the VM, and tells the source agent to stream the VM
 * to the destination agent; it follows the agents' events to the outcome and cleans up the
 * destination when the handoff fails.
 */
package io.cloudlet.handoff;
