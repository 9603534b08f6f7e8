package io.cloudlet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The command line's contract: help on every verb, exit codes, one-line errors. No VMs needed. */
class CloudletCommandTests {

    @TempDir
    Path work;

    record Run(int exitCode, String out, String err) {
    }

    private Run run(String... args) {
        PrintStream originalOut = System.out;
        PrintStream originalErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = CloudletCommand.run(System.nanoTime(), args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(originalOut);
            System.setErr(originalErr);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "base", "base create", "base list", "base export", "base import", "base delete",
            "resume", "overlay", "overlay create", "overlay info", "synthesize", "list", "terminate", "serve"})
    void everyVerbHasHelp(String verb) {
        List<String> args = new java.util.ArrayList<>(verb.isEmpty() ? List.of() : List.of(verb.split(" ")));
        args.add("--help");
        Run run = run(args.toArray(String[]::new));
        assertThat(run.exitCode()).isZero();
        assertThat(run.out()).startsWith("Usage: cloudlet" + (verb.isEmpty() ? "" : " " + verb));
    }

    @Test
    void theDocumentedInterfaceParses() {
        Run run = run("base", "create", "--help");
        assertThat(run.out()).contains("--name", "--disk", "--kernel", "--initrd", "--cmdline", "--memory-mib",
                "--vcpus", "--ready-serial", "--ready-after");
        assertThat(run("synthesize", "--help").out()).contains("OVERLAY_FILE_OR_URL", "--name", "--forward");
        assertThat(run("overlay", "create", "--help").out()).contains("INSTANCE", "OUT", "--codec", "--level");
    }

    @Test
    void usageErrorsExitWithTwoAndOneLine() {
        Run unknown = run("frobnicate");
        assertThat(unknown.exitCode()).isEqualTo(2);
        assertThat(unknown.err()).contains("Unmatched argument");

        Run both = run("--home", work.toString(), "base", "create", "--name", "b", "--disk", "d.raw",
                "--ready-serial", "x", "--ready-after", "3");
        assertThat(both.exitCode()).isEqualTo(2);
        assertThat(both.err()).contains("mutually exclusive");

        Run codec = run("--home", work.toString(), "overlay", "create", "i", "out.overlay", "--codec", "lz4");
        assertThat(codec.exitCode()).isEqualTo(2);
        assertThat(codec.err()).contains("--codec must be xz or zstd");

        Run level = run("--home", work.toString(), "overlay", "create", "i", "out.overlay", "--codec", "xz",
                "--level", "12");
        assertThat(level.exitCode()).isEqualTo(2);
        assertThat(level.err()).contains("xz levels run from 0 to 9");
    }

    @Test
    void invalidInputExitsWithThreeAndAOneLineReason() throws Exception {
        Path notAnOverlay = Files.writeString(work.resolve("x.overlay"), "hello, this is not an overlay");
        Run run = run("overlay", "info", notAnOverlay.toString());
        assertThat(run.exitCode()).isEqualTo(3);
        assertThat(run.err().strip()).startsWith("cloudlet: error: ").contains("not a cloudlet overlay")
                .doesNotContain("\n").doesNotContain("Exception");

        Run missing = run("overlay", "info", work.resolve("missing.overlay").toString());
        assertThat(missing.exitCode()).isEqualTo(3);
        assertThat(missing.err()).contains("does not exist");
    }

    @Test
    void badPortForwardsAreUsageErrors() {
        Run run = run("--home", work.toString(), "--connect", "test:///default", "resume", "base", "--forward",
                "80");
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("HOSTPORT:GUESTPORT");
    }
}
