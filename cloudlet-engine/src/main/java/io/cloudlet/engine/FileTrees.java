package io.cloudlet.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** Removing what an aborted operation left behind. */
public final class FileTrees {

    private FileTrees() {
    }

    /** Deletes a file or a directory tree; a path that does not exist is fine. */
    public static void deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        List<Path> paths;
        try (Stream<Path> walk = Files.walk(root)) {
            paths = walk.sorted(Comparator.reverseOrder()).toList();
        } catch (NoSuchFileException e) {
            return;
        }
        for (Path path : paths) {
            Files.deleteIfExists(path);
        }
    }

    /** Like {@link #deleteRecursively} but for cleanup paths: a failure is added to {@code primary}. */
    public static void deleteQuietly(Path root, Throwable primary) {
        try {
            deleteRecursively(root);
        } catch (IOException | RuntimeException e) {
            primary.addSuppressed(e);
        }
    }
}
