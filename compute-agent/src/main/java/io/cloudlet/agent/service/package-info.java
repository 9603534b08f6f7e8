/**
 * The compute agent as a service: it runs the host operations of
 * {@link io.cloudlet.agent.host.CloudletHost} on commands from its RabbitMQ queue, reports their
 * progress and outcome and a periodic heartbeat as events, fetches base VMs from the image service
 * on first use, and reconciles its home with libvirt when it starts.
 */
package io.cloudlet.agent.service;
