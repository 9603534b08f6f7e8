/**
 * RabbitMQ plumbing of the synthesis service: a transactional outbox for agent commands (written
 * with the change they announce, published after commit with publisher confirms) and the consumer
 * of agent events, deduplicated on the message id.
 */
package io.cloudlet.synthesis.messaging;
