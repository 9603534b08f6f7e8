package io.cloudlet.platform;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A linter for docker-compose.yml, since no Docker engine runs here to try it: the file parses
 * (anchors and merge keys resolved), uses only keys of the Compose specification, every service
 * is built from a module of this repository or a pinned image, has a healthcheck, waits for what
 * it depends on to be healthy, publishes no host port twice, writes variables in Compose's
 * syntax, and the agent gets what libvirt needs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ComposeFileTests {

    private static final Set<String> TOP_LEVEL = Set.of("services", "volumes", "networks", "configs", "secrets",
            "name", "version");
    private static final Set<String> SERVICE_KEYS = Set.of("image", "build", "environment", "ports", "volumes",
            "healthcheck", "depends_on", "privileged", "network_mode", "command", "entrypoint", "restart",
            "devices", "cap_add", "user", "working_dir", "labels", "networks", "env_file", "expose");
    private static final Pattern VARIABLE = Pattern.compile("\\$\\{([^}]*)}");
    private static final Pattern VARIABLE_SYNTAX = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*((:?[-?+]).*)?");

    private String text;
    private Map<String, Object> compose;
    private Map<String, Map<String, Object>> services;

    @BeforeAll
    @SuppressWarnings("unchecked")
    void parse() throws IOException {
        text = Files.readString(Platform.REPO.resolve("docker-compose.yml"));
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        compose = new Yaml(options).load(text);
        services = (Map<String, Map<String, Object>>) compose.get("services");
    }

    @Test
    void onlyComposeKeysAreUsed() {
        for (String key : compose.keySet()) {
            assertThat(TOP_LEVEL.contains(key) || key.startsWith("x-")).as("top-level key " + key).isTrue();
        }
        services.forEach((name, service) -> assertThat(SERVICE_KEYS).as("keys of " + name)
                .containsAll(service.keySet()));
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyServiceIsBuiltFromAModuleOrAPinnedImage() {
        services.forEach((name, service) -> {
            if (service.containsKey("build")) {
                Map<String, Object> build = (Map<String, Object>) service.get("build");
                assertThat(Platform.REPO.resolve((String) build.get("dockerfile"))).exists();
                String module = (String) ((Map<String, Object>) build.get("args")).get("ARTIFACT_NAME");
                assertThat(Platform.REPO.resolve(module).resolve("pom.xml")).as(name + "'s module").exists();
                assertThat(module).isEqualTo(name);
            } else {
                assertThat((String) service.get("image")).as(name + "'s image").matches("[a-z0-9/_.-]+:[A-Za-z0-9._-]+");
            }
        });
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyServiceIsHealthCheckedAndStartsAfterItsDependenciesAreHealthy() {
        services.forEach((name, service) -> {
            Map<String, Object> health = (Map<String, Object>) service.get("healthcheck");
            assertThat(health).as(name + " has a healthcheck").isNotNull();
            assertThat(health).containsKeys("test", "interval", "retries");
            Object dependsOn = service.getOrDefault("depends_on", Map.of());
            assertThat(dependsOn).as(name + ": depends_on with conditions").isInstanceOf(Map.class);
            ((Map<String, Map<String, Object>>) dependsOn).forEach((dependency, condition) -> {
                assertThat(services).as(name + " depends on " + dependency).containsKey(dependency);
                assertThat(condition).containsEntry("condition", "service_healthy");
            });
        });
        assertThat(dependencyCycle()).as("depends_on cycle").isNull();
    }

    @Test
    @SuppressWarnings("unchecked")
    void noHostPortIsPublishedTwiceAndVolumesAreDeclared() {
        Set<String> published = new HashSet<>();
        Map<String, Object> volumes = (Map<String, Object>) compose.getOrDefault("volumes", Map.of());
        services.forEach((name, service) -> {
            for (Object port : (List<Object>) service.getOrDefault("ports", List.of())) {
                String spec = port.toString();
                String host = spec.substring(0, spec.lastIndexOf(':'));
                assertThat(published.add(host.contains(":") ? host.substring(host.lastIndexOf(':') + 1) : host))
                        .as("host port of " + spec).isTrue();
            }
            for (Object volume : (List<Object>) service.getOrDefault("volumes", List.of())) {
                String source = volume.toString().split(":")[0];
                if (!source.startsWith("/") && !source.startsWith(".")) {
                    assertThat(volumes).as("named volume " + source).containsKey(source);
                }
            }
        });
    }

    @Test
    void variablesUseComposeSyntax() {
        Matcher matcher = VARIABLE.matcher(text);
        int count = 0;
        while (matcher.find()) {
            assertThat(matcher.group(1)).as("${" + matcher.group(1) + "}").matches(VARIABLE_SYNTAX);
            count++;
        }
        assertThat(count).isPositive();
    }

    @Test
    @SuppressWarnings("unchecked")
    void theAgentReachesTheHostsLibvirtAndNetwork() {
        Map<String, Object> agent = services.get("compute-agent");
        assertThat(agent).containsEntry("privileged", true).containsEntry("network_mode", "host");
        assertThat((List<String>) agent.get("volumes")).contains("/var/run/libvirt:/var/run/libvirt")
                .anySatisfy(v -> assertThat(v.split(":")[0]).isEqualTo(v.split(":")[1]));
        assertThat(agent).doesNotContainKey("ports");
    }

    @SuppressWarnings("unchecked")
    private String dependencyCycle() {
        for (String start : services.keySet()) {
            List<String> stack = new ArrayList<>(List.of(start));
            Set<String> seen = new HashSet<>();
            while (!stack.isEmpty()) {
                String current = stack.remove(stack.size() - 1);
                Map<String, Object> deps = (Map<String, Object>) services.get(current).getOrDefault("depends_on", Map.of());
                for (String dep : deps.keySet()) {
                    if (dep.equals(start)) {
                        return start;
                    }
                    if (seen.add(dep)) {
                        stack.add(dep);
                    }
                }
            }
        }
        return null;
    }
}
