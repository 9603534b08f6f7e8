/**
 * VM handoff streaming: a running VM's disk and memory, as they differ from the base VM both
 * cloudlets hold, sent over one TCP connection in iterative passes with compression chosen to fit
 * the link, then the device state; the receiver rebuilds the images in place for a VM that the
 * host resumes. The wire format is specified in docs/handoff.md.
 */
package io.cloudlet.engine.handoff;
