/**
 * Servers and their life cycle: creation (placed by the scheduler, launched by a command sent
 * through the outbox), deletion, overlay creation, and the agent events that move a server
 * between BUILD, ACTIVE, ERROR and DELETED.
 */
package io.cloudlet.synthesis.server;
