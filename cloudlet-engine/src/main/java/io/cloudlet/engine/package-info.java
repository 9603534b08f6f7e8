/**
 * The cloudlet engine: base VM and VM overlay formats and the algorithms that create and apply
 * overlays. Plain Java with no Spring; services wire it with explicit configuration.
 *
 * <p>Sub-packages: {@code image} (4 KiB chunks, hash lists, the base chunk index),
 * {@code basevm} (base VM directory and package), {@code overlay} (format and creation),
 * {@code synthesis} (applying an overlay to a base) and {@code qcow2} (copy-on-write launch disks).
 */
package io.cloudlet.engine;
