/**
 * Base VMs: a paused guest's raw disk and raw memory (the guest RAM file, page order), their chunk
 * hash lists, a manifest, and attachments such as the device state; sealed in a directory and
 * moved between cloudlets as one verified zip package.
 */
package io.cloudlet.engine.basevm;
