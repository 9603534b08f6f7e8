/**
 * The catalogue: base VMs (imported from packages, public) and overlays (registered and uploaded
 * by a project, private to it), each exposed as Glance v2-shaped image records with cloudlet
 * properties. Files live in the {@link io.cloudlet.image.blob.BlobStore}; rows in PostgreSQL.
 */
package io.cloudlet.image.catalog;
