package io.cloudlet.engine;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

@AnalyzeClasses(packages = "io.cloudlet.engine", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTests {

    @ArchTest
    static final ArchRule engineKnowsNothingOfSpring = noClasses().should()
            .dependOnClassesThat().resideInAnyPackage("org.springframework..", "jakarta..");

    @ArchTest
    static final ArchRule formatsDoNotDependOnSynthesis = noClasses()
            .that().resideInAnyPackage("..engine.image..", "..engine.overlay..", "..engine.basevm..", "..engine.qcow2..")
            .should().dependOnClassesThat().resideInAPackage("..engine.synthesis..");
}
