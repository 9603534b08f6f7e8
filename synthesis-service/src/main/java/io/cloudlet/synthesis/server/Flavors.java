package io.cloudlet.synthesis.server;

import io.cloudlet.synthesis.images.ImageClient;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Flavors derived from base VMs: a resumed VM keeps the RAM and CPUs of its memory snapshot, so
 * each distinct base VM shape is a flavor ({@code c1.m256.d1}: vCPUs, RAM in MiB, disk in GiB).
 */
public final class Flavors {

    /** A flavor in Nova's terms. */
    public record Flavor(String id, int vcpus, int ramMib, int diskGib) {
    }

    private Flavors() {
    }

    public static Flavor of(ImageClient.Base base) {
        int disk = (int) Math.max(1, Math.ceil(base.diskBytes() / (double) (1L << 30)));
        return new Flavor("c" + base.vcpus() + ".m" + base.memoryMib() + ".d" + disk, base.vcpus(),
                base.memoryMib(), disk);
    }

    public static Collection<Flavor> all(Collection<ImageClient.Base> bases) {
        Map<String, Flavor> flavors = new LinkedHashMap<>();
        bases.stream().map(Flavors::of).sorted(java.util.Comparator.comparing(Flavor::id))
                .forEach(f -> flavors.putIfAbsent(f.id(), f));
        return flavors.values();
    }
}
