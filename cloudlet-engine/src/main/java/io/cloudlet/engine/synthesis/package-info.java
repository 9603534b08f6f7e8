/**
 * VM synthesis: applying an overlay to its base VM to rebuild the launch disk (a qcow2 layer over
 * the base disk) and the launch memory (a sparse raw file), segments decoded in parallel.
 */
package io.cloudlet.engine.synthesis;
