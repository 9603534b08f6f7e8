/** Benchmark drivers run by the executables in {@code bench/}. Not part of the platform. */
package io.cloudlet.bench;
