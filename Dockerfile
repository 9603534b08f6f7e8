# One image recipe for every service: docker build --build-arg ARTIFACT_NAME=<module> .
# Build the jars first (./mvnw -DskipTests package); the image holds the Spring Boot jar in layers
# (dependencies change rarely, the application often), so rebuilds move only the top layer.
FROM eclipse-temurin:17-jre-jammy AS layers
ARG ARTIFACT_NAME
WORKDIR /build
COPY ${ARTIFACT_NAME}/target/${ARTIFACT_NAME}-*.jar app.jar
RUN java -Djarmode=tools -jar app.jar extract --layers --launcher --destination extracted

FROM eclipse-temurin:17-jre-jammy
# The compute agent needs libvirt's client library (EXTRA_PACKAGES=libvirt0); the others nothing.
ARG EXTRA_PACKAGES=""
RUN if [ -n "$EXTRA_PACKAGES" ]; then apt-get update && apt-get install -y --no-install-recommends $EXTRA_PACKAGES \
      && rm -rf /var/lib/apt/lists/*; fi
WORKDIR /app
COPY --from=layers /build/extracted/dependencies/ ./
COPY --from=layers /build/extracted/spring-boot-loader/ ./
COPY --from=layers /build/extracted/snapshot-dependencies/ ./
COPY --from=layers /build/extracted/application/ ./
ENV LOGGING_STRUCTURED_FORMAT_CONSOLE=ecs
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "org.springframework.boot.loader.launch.JarLauncher"]
