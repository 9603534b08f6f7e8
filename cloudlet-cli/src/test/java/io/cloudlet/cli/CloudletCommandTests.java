package io.cloudlet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import io.cloudlet.agent.host.NicMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The command line's contract: help on every verb, exit codes, one-line errors. No VMs needed. */
class CloudletCommandTests {

    @TempDir
    Path work;

    private static CommandRun run(String... args) {
        return CommandRun.of(args);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "base", "base create", "base list", "base export", "base import", "base delete",
            "resume", "overlay", "overlay create", "overlay info", "synthesize", "list", "terminate", "serve"})
    void everyVerbHasHelp(String verb) {
        List<String> args = new java.util.ArrayList<>(verb.isEmpty() ? List.of() : List.of(verb.split(" ")));
        args.add("--help");
        CommandRun run = run(args.toArray(String[]::new));
        assertThat(run.exitCode()).isZero();
        assertThat(run.out()).startsWith("Usage: cloudlet" + (verb.isEmpty() ? "" : " " + verb));
    }

    @Test
    void theDocumentedInterfaceParses() {
        CommandRun run = run("base", "create", "--help");
        assertThat(run.out()).contains("--name", "--disk", "--kernel", "--initrd", "--cmdline", "--memory-mib",
                "--vcpus", "--ready-serial", "--ready-after");
        assertThat(run("synthesize", "--help").out()).contains("OVERLAY_FILE_OR_URL", "--name", "--forward");
        assertThat(run("overlay", "create", "--help").out()).contains("INSTANCE", "OUT", "--codec", "--level");
    }

    @Test
    void usageErrorsExitWithTwoAndOneLine() {
        CommandRun unknown = run("frobnicate");
        assertThat(unknown.exitCode()).isEqualTo(2);
        assertThat(unknown.err()).contains("Unmatched argument");

        CommandRun both = run("--home", work.toString(), "base", "create", "--name", "b", "--disk", "d.raw",
                "--ready-serial", "x", "--ready-after", "3");
        assertThat(both.exitCode()).isEqualTo(2);
        assertThat(both.err()).contains("mutually exclusive");

        CommandRun codec = run("--home", work.toString(), "overlay", "create", "i", "out.overlay", "--codec", "lz4");
        assertThat(codec.exitCode()).isEqualTo(2);
        assertThat(codec.err()).contains("--codec must be xz or zstd");

        CommandRun level = run("--home", work.toString(), "overlay", "create", "i", "out.overlay", "--codec", "xz",
                "--level", "12");
        assertThat(level.exitCode()).isEqualTo(2);
        assertThat(level.err()).contains("xz levels run from 0 to 9");
    }

    @Test
    void invalidInputExitsWithThreeAndAOneLineReason() throws Exception {
        Path notAnOverlay = Files.writeString(work.resolve("x.overlay"), "hello, this is not an overlay");
        CommandRun run = run("overlay", "info", notAnOverlay.toString());
        assertThat(run.exitCode()).isEqualTo(3);
        assertThat(run.err().strip()).startsWith("cloudlet: error: ").contains("not a cloudlet overlay")
                .doesNotContain("\n").doesNotContain("Exception");

        CommandRun missing = run("overlay", "info", work.resolve("missing.overlay").toString());
        assertThat(missing.exitCode()).isEqualTo(3);
        assertThat(missing.err()).contains("does not exist");
    }

    @Test
    void anUnknownNicModeIsAUsageError() {
        CommandRun run = run("--nic-mode", "bridge", "list");
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("'bridge' is not keep or replace");
        assertThat(new CloudletCommand.NicModeConverter().convert("")).isEqualTo(NicMode.KEEP);
        assertThat(new CloudletCommand.NicModeConverter().convert("Replace")).isEqualTo(NicMode.REPLACE);
    }

    @Test
    void badPortForwardsAreUsageErrors() {
        CommandRun run = run("--home", work.toString(), "--connect", "test:///default", "resume", "base", "--forward",
                "80");
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("HOSTPORT:GUESTPORT");
    }
}
