/**
 * The messages that cross RabbitMQ between the control plane and the compute agents: commands
 * ({@link io.cloudlet.contracts.AgentCommand}, routed to one agent by its host id) and events
 * ({@link io.cloudlet.contracts.CloudletEvent}, published to a topic every service and dashboard
 * may read). Records only, evolved additively; {@link io.cloudlet.contracts.Destinations} names
 * the exchanges.
 */
package io.cloudlet.contracts;
