/**
 * The synthesis service. {@code nova} is the Compute API v2.1 surface; {@code server} owns servers
 * and their life cycle; {@code agent} tracks compute agents and places work; {@code messaging}
 * holds the outbox and the event consumer; {@code images} calls the image service.
 */
package io.cloudlet.synthesis;
