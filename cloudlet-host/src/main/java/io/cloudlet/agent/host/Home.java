package io.cloudlet.agent.host;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.cloudlet.agent.AgentException;
import io.cloudlet.agent.AgentException.Reason;
import io.cloudlet.engine.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The agent's state on disk:
 * <pre>
 * HOME/bases/BASE_ID/          sealed base VMs (manifest.json, disk.raw, memory.raw, hashes, attachments)
 * HOME/instances/NAME/         instance.json, disk.qcow2, memory.raw, console.log
 * HOME/tmp/                    staging; anything here after a crash is garbage
 * HOME/lock                    held while names and ports are checked and claimed
 * </pre>
 * Every record is written to a temporary file and renamed into place.
 */
final class Home {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");

    private final Path root;
    private final String tag;
    private final ReentrantLock threadLock = new ReentrantLock();
    private final ObjectMapper json = Json.mapper();

    private Home(Path root) {
        this.root = root;
        this.tag = shortHash(root.toString());
    }

    static Home open(Path root) {
        Path absolute = root.toAbsolutePath().normalize();
        try {
            Files.createDirectories(absolute.resolve("bases"));
            Files.createDirectories(absolute.resolve("instances"));
            Files.createDirectories(absolute.resolve("tmp"));
        } catch (IOException e) {
            throw new AgentException(Reason.FAILED, "cannot use " + absolute + " as the cloudlet home: " + e.getMessage(),
                    e);
        }
        return new Home(absolute);
    }

    Path root() {
        return root;
    }

    Path bases() {
        return root.resolve("bases");
    }

    Path instances() {
        return root.resolve("instances");
    }

    Path instance(String name) {
        return instances().resolve(name);
    }

    /** A fresh staging directory under {@code tmp/}. */
    Path staging(String purpose) throws IOException {
        return Files.createTempDirectory(root.resolve("tmp"), purpose + "-");
    }

    /** VM names of this home start with this prefix, so homes on one host never collide. */
    String vmPrefix() {
        return "cloudlet-" + tag + "-";
    }

    static String checkName(String what, String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new AgentException(Reason.BAD_REQUEST, what + " name '" + name
                    + "' is not valid: use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
        return name;
    }

    /** Runs {@code action} holding the home's lock, across threads and processes. */
    <T> T locked(IoSupplier<T> action) {
        threadLock.lock();
        try (FileChannel channel = FileChannel.open(root.resolve("lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
             FileLock ignored = channel.lock()) {
            return action.get();
        } catch (IOException e) {
            throw new AgentException(Reason.FAILED, e.getMessage(), e);
        } finally {
            threadLock.unlock();
        }
    }

    interface IoSupplier<T> {
        T get() throws IOException;
    }

    // ---- instance records ----

    void write(InstanceRecord record) {
        Path directory = instance(record.name());
        Path partial = directory.resolve("instance.json.partial");
        try {
            json.writeValue(partial.toFile(), record);
            Files.move(partial, directory.resolve("instance.json"), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Optional<InstanceRecord> read(String name) {
        Path file = instance(name).resolve("instance.json");
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            return Optional.of(json.readValue(file.toFile(), InstanceRecord.class));
        } catch (IOException e) {
            throw new AgentException(Reason.FAILED, "instance record " + file + " is unreadable: " + e.getMessage(), e);
        }
    }

    /** Names of every instance directory, recorded or not (a crash can leave one without a record). */
    List<String> instanceNames() {
        List<String> names = new ArrayList<>();
        try (Stream<Path> children = Files.list(instances())) {
            children.filter(Files::isDirectory).map(path -> path.getFileName().toString()).sorted().forEach(names::add);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return names;
    }

    private static String shortHash(String text) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
