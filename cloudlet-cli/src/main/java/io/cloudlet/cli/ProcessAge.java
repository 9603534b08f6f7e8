package io.cloudlet.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/**
 * How long ago this process started, to 10 ms, so that the command's timings count from its start
 * (the {@code bin/cloudlet} script that execs the JVM included).
 *
 * <p>On Linux both ends come from the same clock: the process's start in clock ticks since boot
 * ({@code /proc/self/stat}, field 22, USER_HZ = 100 ticks a second, proc(5)) and the time since
 * boot ({@code /proc/uptime}). {@link ProcessHandle.Info#startInstant()} adds the start to the
 * boot time of {@code /proc/stat}, which is truncated to whole seconds, so its age is too long by
 * up to a second (0.95 s on one of our machines). Elsewhere that is the fallback.
 */
final class ProcessAge {

    private static final long NANOS_PER_TICK = 10_000_000L;

    private ProcessAge() {
    }

    /** The process's age in nanoseconds; 0 when it cannot be told. */
    static long nanos() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            // Field 2 (the command name) may hold spaces and parentheses: count from the last ')'.
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
            long startTicks = Long.parseLong(fields[22 - 3]);
            String uptime = Files.readString(Path.of("/proc/uptime")).trim().split(" ")[0];
            long uptimeNanos = new java.math.BigDecimal(uptime).movePointRight(9).longValueExact();
            return Math.max(0, uptimeNanos - startTicks * NANOS_PER_TICK);
        } catch (IOException | RuntimeException e) {
            return ProcessHandle.current().info().startInstant()
                    .map(start -> Duration.between(start, Instant.now()).toNanos()).orElse(0L);
        }
    }
}
