package io.cloudlet.agent;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

@AnalyzeClasses(packages = "io.cloudlet.agent", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTests {

    @ArchTest
    static final ArchRule onlyTheLibvirtHypervisorTalksToLibvirt = noClasses()
            .that().haveNameNotMatching("io\\.cloudlet\\.agent\\.hypervisor\\.LibvirtHypervisor(\\$.*)?")
            .should().dependOnClassesThat().resideInAPackage("org.libvirt..")
            .because("libvirt stays behind the Hypervisor interface");

    @ArchTest
    static final ArchRule hostOperationsSeeOnlyTheInterface = noClasses()
            .that().resideInAPackage("io.cloudlet.agent.host..")
            .should().dependOnClassesThat().haveSimpleName("LibvirtHypervisor");
}
