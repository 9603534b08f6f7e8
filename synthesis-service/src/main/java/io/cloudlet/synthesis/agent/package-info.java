/** Compute agents as their heartbeats describe them, and the placement of new servers on them. */
package io.cloudlet.synthesis.agent;
