package io.cloudlet.agent.host;

/** Receives progress of a long operation: the current phase and, where known, its percentage. */
@FunctionalInterface
public interface Progress {

    Progress NONE = (phase, percent) -> { };

    /**
     * @param phase   what is happening, e.g. {@code boot}, {@code hash}, {@code apply}
     * @param percent 0-100 within the phase, or -1 when unknown
     */
    void report(String phase, int percent);
}
