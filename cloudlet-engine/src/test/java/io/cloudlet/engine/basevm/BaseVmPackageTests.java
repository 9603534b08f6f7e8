package io.cloudlet.engine.basevm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cloudlet.engine.Fixtures;
import io.cloudlet.engine.InvalidArtifactException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BaseVmPackageTests {

    @TempDir
    Path work;

    private BaseVm base;
    private Path packageFile;
    private Path store;

    @BeforeEach
    void exportBase() throws IOException {
        base = Fixtures.base(work.resolve("made"), 300, 200, 21);
        packageFile = work.resolve("base.zip");
        BaseVmPackage.export(base, packageFile);
        store = work.resolve("store");
    }

    @Test
    void importedBaseIsIdenticalAndStoredUnderItsId() throws IOException {
        BaseVm imported = BaseVmPackage.importFile(packageFile, store, 2);

        assertThat(imported.directory()).isEqualTo(store.resolve(base.baseId()));
        assertThat(imported.manifest()).isEqualTo(base.manifest());
        for (String name : new String[] {BaseVm.DISK, BaseVm.MEMORY, BaseVm.DISK_HASHES, "device-state.bin"}) {
            assertThat(imported.directory().resolve(name)).hasSameBinaryContentAs(base.directory().resolve(name));
        }
        assertThat(imported.attachment("device-state.bin")).exists();
    }

    @Test
    void importingTwiceIsIdempotent() throws IOException {
        BaseVm first = BaseVmPackage.importFile(packageFile, store, 2);
        BaseVm second = BaseVmPackage.importFile(packageFile, store, 2);

        assertThat(second.directory()).isEqualTo(first.directory());
        assertOnlyBaseInStore(first.baseId());
    }

    @Test
    void zipSlipMemberIsRefused() throws IOException {
        Path evil = rewrite("evil.zip", name -> name.equals("device-state.bin") ? "../../device-state.bin" : name);

        assertImportFails(evil, "is not a plain file name");
        assertThat(work.resolve("device-state.bin")).doesNotExist();
    }

    @Test
    void missingMemberIsNamed() throws IOException {
        Path partial = rewrite("partial.zip", name -> name.equals(BaseVm.MEMORY) ? null : name);

        assertImportFails(partial, "lacks member memory.raw");
    }

    @Test
    void unexpectedMemberIsNamed() throws IOException {
        Path extra = rewrite("extra.zip", name -> name.equals("device-state.bin") ? "surprise.bin" : name);

        assertImportFails(extra, "lacks member device-state.bin");
    }

    @Test
    void changedDiskChunkIsFoundAndNamed() throws IOException {
        Path tampered = rewriteContent("tampered.zip", BaseVm.DISK, bytes -> {
            bytes[4096 * 17 + 5] ^= 1;
            return bytes;
        });

        assertImportFails(tampered, "disk.raw is corrupt: chunk 17");
    }

    @Test
    void changedAttachmentIsFound() throws IOException {
        Path tampered = rewriteContent("tampered.zip", "device-state.bin", bytes -> {
            bytes[0] ^= 1;
            return bytes;
        });

        assertImportFails(tampered, "attachment device-state.bin is corrupt");
    }

    @Test
    void truncatedPackageIsRefused() throws IOException {
        byte[] bytes = Files.readAllBytes(packageFile);
        Path truncated = work.resolve("truncated.zip");
        Files.write(truncated, java.util.Arrays.copyOf(bytes, bytes.length / 2));

        assertThatThrownBy(() -> BaseVmPackage.importFile(truncated, store, 2))
                .isInstanceOf(InvalidArtifactException.class);
        assertStoreEmpty();
    }

    @Test
    void openRefusesAnUnsealedDirectory() throws IOException {
        Path directory = Files.createDirectories(work.resolve("unsealed"));

        assertThatThrownBy(() -> BaseVm.open(directory)).isInstanceOf(InvalidArtifactException.class)
                .hasMessageContaining("manifest.json is missing");
    }

    private void assertImportFails(Path zip, String message) throws IOException {
        assertThatThrownBy(() -> BaseVmPackage.importFile(zip, store, 2))
                .isInstanceOf(InvalidArtifactException.class).hasMessageContaining(message);
        assertStoreEmpty();
    }

    private void assertStoreEmpty() throws IOException {
        try (Stream<Path> left = Files.list(store)) {
            assertThat(left).as("nothing half-imported").isEmpty();
        }
    }

    private void assertOnlyBaseInStore(String baseId) throws IOException {
        try (Stream<Path> left = Files.list(store)) {
            assertThat(left).containsExactly(store.resolve(baseId));
        }
    }

    /** Copies the package, renaming members ({@code null} drops one). */
    private Path rewrite(String name, UnaryOperator<String> rename) throws IOException {
        return copy(name, rename, null, null);
    }

    private Path rewriteContent(String name, String member, UnaryOperator<byte[]> change) throws IOException {
        return copy(name, UnaryOperator.identity(), member, change);
    }

    private Path copy(String name, UnaryOperator<String> rename, String member, UnaryOperator<byte[]> change)
            throws IOException {
        Path target = work.resolve(name);
        try (InputStream in = Files.newInputStream(packageFile);
             ZipInputStream zipIn = new ZipInputStream(in);
             OutputStream out = Files.newOutputStream(target);
             ZipOutputStream zipOut = new ZipOutputStream(out)) {
            for (ZipEntry entry; (entry = zipIn.getNextEntry()) != null; ) {
                String renamed = rename.apply(entry.getName());
                byte[] bytes = zipIn.readAllBytes();
                if (renamed == null) {
                    continue;
                }
                if (entry.getName().equals(member)) {
                    bytes = change.apply(bytes);
                }
                zipOut.putNextEntry(new ZipEntry(renamed));
                zipOut.write(bytes);
                zipOut.closeEntry();
            }
        }
        return target;
    }
}
