package io.cloudlet.contracts;

/**
 * A base VM as an agent needs to find or fetch it.
 *
 * @param baseId     content-derived base id
 * @param name       the base VM's name
 * @param packageUrl where the agent downloads the base VM package if it does not cache it
 */
public record BaseRef(String baseId, String name, String packageUrl) {
}
