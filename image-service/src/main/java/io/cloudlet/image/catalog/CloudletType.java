package io.cloudlet.image.catalog;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/** What an image record holds; the Glance property {@code cloudlet_type}. */
enum CloudletType {
    BASE_DISK("disk.raw"),
    BASE_MEMORY("memory.raw"),
    DISK_HASH("disk.hashes"),
    MEMORY_HASH("memory.hashes"),
    OVERLAY(null);

    /** The base VM package member this type of image shows, or null. */
    final String member;

    CloudletType(String member) {
        this.member = member;
    }

    String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    static Optional<CloudletType> parse(String value) {
        return Arrays.stream(values()).filter(t -> t.wireName().equals(value)).findFirst();
    }
}
