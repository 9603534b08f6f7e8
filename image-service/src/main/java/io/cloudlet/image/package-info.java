/**
 * The image service. {@code blob} stores file content by SHA-256; {@code catalog} owns base VMs,
 * overlays and their image records in PostgreSQL; {@code web} holds the caller identity the
 * gateway forwards and the error mapping.
 */
package io.cloudlet.image;
