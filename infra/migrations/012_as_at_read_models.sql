-- Read models at a past position P, built on demand for reports asked `asAt=P` (and for a current report whose read
-- models already hold events above its consistent position): schema rm_<projection>_at_<P>, a replay of the log's
-- events at or below P. This table lists the copies that exist. They are disposable: the API drops the least
-- recently used beyond a few and any unused for an hour, and drops every one when a participant is erased (the rows
-- derive from personal data). Built and dropped under one advisory lock, so two requests never build the same copy.
create table as_at_read_models (
  schema_name        text primary key,
  projection         text not null,
  position           bigint not null check (position >= 0),
  projection_version integer not null,
  built_at           timestamptz not null default now(),
  last_used_at       timestamptz not null default now(),
  unique (projection, position)
);
