-- Keystone-shaped identity: projects, users with a password hash, role assignments.
create table project (
    id          varchar(64)  primary key,
    name        varchar(64)  not null,
    domain_id   varchar(64)  not null,
    enabled     boolean      not null,
    created_at  timestamptz  not null,
    unique (domain_id, name)
);

create table app_user (
    id                 varchar(64)  primary key,
    name               varchar(64)  not null,
    domain_id          varchar(64)  not null,
    password_hash      varchar(100) not null,
    default_project_id varchar(64)  references project,
    enabled            boolean      not null,
    created_at         timestamptz  not null,
    unique (domain_id, name)
);

create table role_assignment (
    user_id    varchar(64) not null references app_user on delete cascade,
    project_id varchar(64) not null references project on delete cascade,
    role       varchar(32) not null,
    primary key (user_id, project_id, role)
);
