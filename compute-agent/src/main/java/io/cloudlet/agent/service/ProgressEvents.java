package io.cloudlet.agent.service;

import io.cloudlet.agent.host.Progress;
import io.cloudlet.engine.handoff.HandoffSender;
import java.util.function.BiConsumer;

/**
 * Progress of a long operation, passed on as events no more often than one per phase and 10 %
 * step, so that a scan of a million chunks does not become a million events.
 */
final class ProgressEvents implements Progress, HandoffSender.Progress {

    private final BiConsumer<String, Integer> publish;
    private String lastPhase = "";
    private int lastPercent = -100;

    ProgressEvents(BiConsumer<String, Integer> publish) {
        this.publish = publish;
    }

    @Override
    public synchronized void report(String phase, int percent) {
        if (!phase.equals(lastPhase) || percent - lastPercent >= 10) {
            lastPhase = phase;
            lastPercent = percent;
            publish.accept(phase, percent);
        }
    }
}
