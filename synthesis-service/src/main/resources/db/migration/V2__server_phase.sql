-- The phase of the server's current long operation (fetch, apply, resume, snapshot, compress ...).
alter table server add column phase varchar(32);
