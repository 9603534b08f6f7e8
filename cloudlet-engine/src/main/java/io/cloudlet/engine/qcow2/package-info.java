/**
 * Just enough qcow2 (version 3, as QEMU defines it) for the launch disk: a writer that stores only
 * changed clusters over a raw backing base, and a reader that tells which clusters a copy-on-write
 * layer holds.
 */
package io.cloudlet.engine.qcow2;
