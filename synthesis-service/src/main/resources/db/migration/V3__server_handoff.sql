-- VM handoff: a receiving server's listening endpoint, and the handoff a server is the source of.
alter table server add column handoff_endpoint varchar(300);
alter table server add column handoff_id varchar(64);
alter table server add column handed_off_to varchar(300);
