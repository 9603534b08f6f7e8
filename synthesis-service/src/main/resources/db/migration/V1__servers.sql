-- Servers (Nova-shaped), owned by a project; deleted servers stay as rows with status DELETED.
create table server (
    id               uuid         primary key,
    project_id       varchar(64)  not null,
    user_id          varchar(64),
    name             varchar(255) not null,
    status           varchar(16)  not null,
    task_state       varchar(32),
    progress         integer      not null default 0,
    image_ref        varchar(64)  not null,
    flavor_id        varchar(64)  not null,
    base_id          varchar(64)  not null,
    memory_mib       integer      not null,
    overlay_url      text,
    metadata         text         not null,
    guest_ports      varchar(255) not null,
    host_id          varchar(255),
    address          varchar(255),
    ports            text,
    fault            text,
    last_overlay_id  varchar(64),
    created_at       timestamptz  not null,
    updated_at       timestamptz  not null,
    terminate_sent_at timestamptz
);
create index server_project on server (project_id, status);
create index server_host on server (host_id, status);

-- Compute agents as their last heartbeat described them.
create table agent (
    host_id          varchar(255) primary key,
    address          varchar(255) not null,
    vcpus            integer      not null,
    memory_mib       bigint       not null,
    free_memory_mib  bigint       not null,
    free_ports       integer      not null,
    base_ids         text         not null,
    last_seen        timestamptz  not null
);

-- Transactional outbox: written with the change it announces, published after commit with confirms.
create table outbox (
    id           uuid         primary key,
    binding      varchar(64)  not null,
    routing_key  varchar(255) not null,
    payload      text         not null,
    created_at   timestamptz  not null,
    published_at timestamptz
);
create index outbox_pending on outbox (created_at) where published_at is null;

-- Ids of consumed messages, so a redelivered event changes nothing.
create table processed_message (
    message_id   varchar(64)  primary key,
    processed_at timestamptz  not null
);
