package io.cloudlet.agent.host;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * A created overlay.
 *
 * @param file       where it was written
 * @param bytes      its size
 * @param baseId     the base VM it applies to
 * @param codec      segment codec
 * @param level      compression level
 * @param itemCounts items by kind
 * @param paused     how long the instance was paused for the snapshot and the overlay
 */
public record OverlayReport(Path file, long bytes, String baseId, String codec, int level, Map<String, Long> itemCounts,
                            Duration paused) {
}
