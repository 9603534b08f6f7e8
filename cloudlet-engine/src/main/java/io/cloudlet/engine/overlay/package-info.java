/**
 * The VM overlay: the compressed difference of a launch VM's disk and memory against a base VM,
 * as independently compressed, individually hashed segments of 4 KiB items. See
 * {@code docs/overlay-format.md} for the byte layout.
 */
package io.cloudlet.engine.overlay;
