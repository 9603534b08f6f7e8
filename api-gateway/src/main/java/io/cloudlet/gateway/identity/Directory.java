package io.cloudlet.gateway.identity;

import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;
import org.springframework.transaction.annotation.Transactional;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/** Projects, users and role assignments in PostgreSQL. */
@Repository
class Directory {

    static final String DEFAULT_DOMAIN = "default";

    record Project(String id, String name, String domainId, boolean enabled) {
    }

    record User(String id, String name, String domainId, String passwordHash, String defaultProjectId,
                boolean enabled) {
    }

    private final JdbcClient jdbc;

    Directory(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    Optional<Project> project(String id) {
        return jdbc.sql("select id, name, domain_id, enabled from project where id = ?").param(id)
                .query(Project.class).optional();
    }

    Optional<Project> projectByName(String domainId, String name) {
        return jdbc.sql("select id, name, domain_id, enabled from project where domain_id = ? and name = ?")
                .params(domainId, name).query(Project.class).optional();
    }

    List<Project> projects() {
        return jdbc.sql("select id, name, domain_id, enabled from project order by name").query(Project.class).list();
    }

    Optional<User> user(String id) {
        return jdbc.sql("select id, name, domain_id, password_hash, default_project_id, enabled from app_user "
                + "where id = ?").param(id).query(User.class).optional();
    }

    Optional<User> userByName(String domainId, String name) {
        return jdbc.sql("select id, name, domain_id, password_hash, default_project_id, enabled from app_user "
                + "where domain_id = ? and name = ?").params(domainId, name).query(User.class).optional();
    }

    List<User> users() {
        return jdbc.sql("select id, name, domain_id, password_hash, default_project_id, enabled from app_user "
                + "order by name").query(User.class).list();
    }

    List<String> roles(String userId, String projectId) {
        return jdbc.sql("select role from role_assignment where user_id = ? and project_id = ? order by role")
                .params(userId, projectId).query(String.class).list();
    }

    /** Creates a project; fails with {@link DuplicateKeyException} if the name is taken in the domain. */
    Project createProject(String name, String domainId) {
        String id = UUID.randomUUID().toString().replace("-", "");
        jdbc.sql("insert into project (id, name, domain_id, enabled, created_at) values (?, ?, ?, true, ?)")
                .params(id, name, domainId, Timestamp.from(Instant.now())).update();
        return new Project(id, name, domainId, true);
    }

    User createUser(String name, String domainId, String passwordHash, String defaultProjectId) {
        String id = UUID.randomUUID().toString().replace("-", "");
        jdbc.sql("insert into app_user (id, name, domain_id, password_hash, default_project_id, enabled, created_at) "
                + "values (?, ?, ?, ?, ?, true, ?)")
                .params(id, name, domainId, passwordHash, defaultProjectId, Timestamp.from(Instant.now())).update();
        return new User(id, name, domainId, passwordHash, defaultProjectId, true);
    }

    void setPassword(String userId, String passwordHash) {
        jdbc.sql("update app_user set password_hash = ? where id = ?").params(passwordHash, userId).update();
    }

    void assign(String userId, String projectId, String role) {
        jdbc.sql("insert into role_assignment (user_id, project_id, role) values (?, ?, ?) on conflict do nothing")
                .params(userId, projectId, role).update();
    }

    /** Creates {@code admin} in project {@code admin} with role admin, or resets its password. */
    @Transactional
    void bootstrap(String passwordHash) {
        Project project = projectByName(DEFAULT_DOMAIN, "admin").orElseGet(() -> createProject("admin", DEFAULT_DOMAIN));
        User user = userByName(DEFAULT_DOMAIN, "admin").orElseGet(() ->
                createUser("admin", DEFAULT_DOMAIN, passwordHash, project.id()));
        setPassword(user.id(), passwordHash);
        assign(user.id(), project.id(), "admin");
        assign(user.id(), project.id(), "member");
    }
}
