-- Handoffs this cloudlet is the source of. The destination token is never stored.
create table handoff (
    id                     uuid primary key,
    server_id              varchar(64)  not null,
    project_id             varchar(64)  not null,
    source_host            varchar(255) not null,
    destination_url        varchar(2048) not null,
    destination_name       varchar(255) not null,
    destination_server_id  varchar(64),
    state                  varchar(16)  not null,
    phase                  varchar(64),
    progress               int          not null default 0,
    message                varchar(4000),
    bytes                  bigint,
    passes                 int,
    total_millis           bigint,
    downtime_millis        bigint,
    created_at             timestamp with time zone not null,
    updated_at             timestamp with time zone not null
);
create index handoff_server on handoff (server_id);
create index handoff_project on handoff (project_id, created_at);

create table processed_message (
    id           varchar(64) primary key,
    processed_at timestamp with time zone not null
);
