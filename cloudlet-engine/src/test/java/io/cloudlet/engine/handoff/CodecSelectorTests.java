package io.cloudlet.engine.handoff;

import static org.assertj.core.api.Assertions.assertThat;

import io.cloudlet.engine.overlay.Codec;
import java.util.List;
import org.junit.jupiter.api.Test;

class CodecSelectorTests {

    private static final CodecChoice NONE = new CodecChoice(Codec.NONE, 0);
    private static final CodecChoice FAST = new CodecChoice(Codec.ZSTD, 1);
    private static final CodecChoice STRONG = new CodecChoice(Codec.XZ, 6);

    @Test
    void slowLinkPrefersTheStrongestCompressionTheCpuKeepsUpWith() {
        CodecSelector selector = measured(1_250_000);

        assertThat(selector.choose()).isEqualTo(STRONG);
    }

    @Test
    void fastLinkPrefersSpeedOverRatio() {
        CodecSelector selector = measured(1_000_000_000);

        assertThat(selector.choose()).isEqualTo(NONE);
    }

    @Test
    void mediumLinkPicksTheFastCompressor() {
        CodecSelector selector = measured(50_000_000);

        assertThat(selector.choose()).isEqualTo(FAST);
    }

    @Test
    void firstBatchProbesEveryCandidateThenOneInTurn() {
        CodecSelector selector = new CodecSelector(List.of(NONE, FAST, STRONG));

        assertThat(selector.probes()).containsExactly(NONE, FAST, STRONG);
        for (int batch = 1; batch < CodecSelector.PROBE_INTERVAL; batch++) {
            assertThat(selector.probes()).isEmpty();
        }
        assertThat(selector.probes()).hasSize(1);
    }

    /** None: 2 GB/s, ratio 1; zstd-1: 300 MB/s, ratio 0.5; xz-6: 3 MB/s, ratio 0.25. */
    private static CodecSelector measured(double linkBytesPerSecond) {
        CodecSelector selector = new CodecSelector(List.of(NONE, FAST, STRONG));
        long mb = 1 << 20;
        selector.compressed(NONE, mb, mb, (long) (mb / 2e9 * 1e9));
        selector.compressed(FAST, mb, mb / 2, (long) (mb / 3e8 * 1e9));
        selector.compressed(STRONG, mb, mb / 4, (long) (mb / 3e6 * 1e9));
        selector.sent(mb, (long) (mb / linkBytesPerSecond * 1e9));
        return selector;
    }
}
