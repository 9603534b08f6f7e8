package io.cloudlet.agent;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The test guest (Debian cloud kernel + busybox initrd + an empty ext4 disk), built from Debian
 * packages by {@code guest/build-test-guest} on first use; nothing binary is committed.
 */
public record TestGuest(Path kernel, Path initrd, Path disk) {

    public static final String READY = "cloudlet-guest: ready";
    public static final String CMDLINE = "console=ttyS0 quiet";
    /**
     * Appended to {@link #CMDLINE}: the guest configures each NIC present at boot once, by name, and
     * never reacts to NIC changes again (as ifupdown's {@code auto eth0} does); see guest/init.
     */
    public static final String NET_ONCE_AT_BOOT = "cloudlet.net=boot";

    private static TestGuest built;

    public static synchronized TestGuest get() throws IOException, InterruptedException {
        if (built == null) {
            Path root = repositoryRoot();
            Path output = root.resolve("build/guest");
            Process process = new ProcessBuilder(root.resolve("guest/build-test-guest").toString(), output.toString())
                    .inheritIO().start();
            if (process.waitFor() != 0) {
                throw new IllegalStateException("guest/build-test-guest failed");
            }
            built = new TestGuest(output.resolve("vmlinuz"), output.resolve("initrd.gz"), output.resolve("disk.raw"));
        }
        return built;
    }

    public static Path repositoryRoot() {
        Path directory = Path.of("").toAbsolutePath();
        while (directory != null && !Files.isRegularFile(directory.resolve("guest/build-test-guest"))) {
            directory = directory.getParent();
        }
        if (directory == null) {
            throw new IllegalStateException("not inside the cloudlet repository");
        }
        return directory;
    }
}
