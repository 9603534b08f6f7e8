package io.cloudlet.engine.image;

/** The two images a VM is made of. */
public enum ImageKind {
    DISK,
    MEMORY
}
