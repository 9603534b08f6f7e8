/**
 * Images as sequences of 4 KiB chunks: hashing, hash lists, and the index that finds a chunk's
 * content anywhere in a base VM's disk or memory.
 */
package io.cloudlet.engine.image;
