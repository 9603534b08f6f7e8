/**
 * The agent's operations on one host, over a home directory: base VMs (create, list, export,
 * import, delete), instances (resume a base VM, synthesise from an overlay, create an overlay,
 * list, terminate). {@link io.cloudlet.agent.host.CloudletHost} is the entry point shared by the
 * `cloudlet` command and the agent service.
 */
package io.cloudlet.agent.host;
