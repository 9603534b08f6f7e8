package io.cloudlet.agent.service;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/** The service drives VMs only through the host library: libvirt stays inside LibvirtHypervisor. */
class AgentArchitectureTests {

    private final JavaClasses service = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.cloudlet.agent.service");

    @Test
    void theServiceNeverTouchesLibvirtDirectly() {
        noClasses().should().dependOnClassesThat().resideInAPackage("org.libvirt..").check(service);
    }

    @Test
    void theServiceSeesNoHypervisorButTheLibvirtFactory() {
        noClasses().should().dependOnClassesThat().haveFullyQualifiedName("io.cloudlet.agent.hypervisor.Hypervisor")
                .orShould().dependOnClassesThat().haveSimpleName("DomainXml").check(service);
    }
}
