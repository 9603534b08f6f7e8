package io.cloudlet.agent.hypervisor;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A TCP forward from {@code hostAddress:hostPort} to {@code guestPort} on the guest.
 *
 * @param hostAddress address the host listens on, e.g. {@code 0.0.0.0}
 * @param hostPort    host port, 1..65535
 * @param guestPort   guest port, 1..65535
 */
public record PortForward(String hostAddress, int hostPort, int guestPort) {

    private static final Pattern SPEC = Pattern.compile("(?:([0-9.]+):)?([0-9]{1,5}):([0-9]{1,5})");

    public PortForward {
        if (hostPort < 1 || hostPort > 65535 || guestPort < 1 || guestPort > 65535) {
            throw new IllegalArgumentException("port forward " + hostPort + ":" + guestPort + " is out of range");
        }
        if (hostAddress == null || hostAddress.isBlank()) {
            hostAddress = "0.0.0.0";
        }
    }

    /** Parses {@code [ADDRESS:]HOSTPORT:GUESTPORT}. */
    public static PortForward parse(String spec) {
        Matcher matcher = SPEC.matcher(spec == null ? "" : spec.trim());
        if (!matcher.matches()) {
            throw new IllegalArgumentException("port forward '" + spec + "' is not [ADDRESS:]HOSTPORT:GUESTPORT");
        }
        return new PortForward(matcher.group(1), Integer.parseInt(matcher.group(2)),
                Integer.parseInt(matcher.group(3)));
    }

    @Override
    public String toString() {
        return hostAddress + ":" + hostPort + ":" + guestPort;
    }
}
