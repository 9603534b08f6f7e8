-- Base VMs imported from packages; their files live in the blob store.
create table base_vm (
    base_id          varchar(64)  primary key,
    name             varchar(128) not null unique,
    vcpus            integer      not null,
    memory_mib       integer      not null,
    disk_bytes       bigint       not null,
    memory_bytes     bigint       not null,
    cpu_model        varchar(64)  not null,
    machine_type     varchar(64)  not null,
    emulator_version varchar(64)  not null,
    vm_template      text         not null,
    created_at       timestamptz  not null
);

-- The members of a base VM package, in package order, each a blob.
create table base_member (
    base_id     varchar(64)  not null references base_vm on delete cascade,
    name        varchar(128) not null,
    position    integer      not null,
    blob_sha256 varchar(64)    not null,
    size        bigint       not null,
    crc32       bigint       not null,
    primary key (base_id, name)
);

-- Glance-shaped image records: base VM components (public) and overlays (owned by a project).
create table image (
    id               uuid         primary key,
    name             varchar(255) not null,
    owner            varchar(64)  not null,
    visibility       varchar(16)  not null,
    cloudlet_type    varchar(32)  not null,
    base_id          varchar(64),
    status           varchar(16)  not null,
    size             bigint,
    blob_sha256      varchar(64),
    created_at       timestamptz  not null,
    updated_at       timestamptz  not null
);
create index image_owner on image (owner);
create index image_base on image (base_id);
