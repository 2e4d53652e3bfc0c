-- The event store: the log of record. Append-only; read models are derived from it and disposable.

create table providers (
  provider_id text primary key,
  name        text not null,
  created_at  timestamptz not null default now()
);

create table programmes (
  programme_id      text primary key,
  name              text not null,
  intervention_type text not null,
  starts_on         date not null,
  ends_on           date,
  created_at        timestamptz not null default now()
);

create table api_keys (
  key_id       text primary key,           -- public part, shown as the key prefix
  secret_hash  text not null,              -- HMAC-SHA256 of the secret part; the secret is never stored
  role         text not null check (role in ('provider', 'data-partner', 'commissioner', 'funder', 'admin')),
  provider_id  text references providers (provider_id),
  label        text not null default '',
  created_at   timestamptz not null default now(),
  revoked_at   timestamptz,
  last_used_at timestamptz,
  check ((role = 'provider') = (provider_id is not null))
);

-- One row per stream: its version and a snapshot of the decider state (a cache, rebuilt from events when stale).
create table streams (
  stream_id     text primary key,
  kind          text not null check (kind in ('participant', 'grant')),
  provider_id   text not null,
  version       integer not null default 0,
  state         jsonb,
  state_version integer not null default 0
);

create table events (
  position       bigint generated always as identity primary key,
  event_id       uuid not null unique,
  stream_id      text not null,
  stream_version integer not null,
  type           text not null,
  schema_version smallint not null,
  provider_id    text not null,            -- the provider whose participant or grant this is
  programme_id   text,
  occurred_at    timestamptz not null,
  recorded_at    timestamptz not null default now(),
  data           jsonb not null,
  metadata       jsonb not null,           -- request id, key id, role: who submitted it, never personal data
  request_hash   text not null,            -- hash of the submission, to tell a retry from a reused eventId
  unique (stream_id, stream_version)
);
create index events_provider_idx on events (provider_id, position);

-- Transactional outbox: written with the event, deleted by the relay once Kafka has acknowledged it.
create table outbox (
  position   bigint primary key references events (position),
  created_at timestamptz not null default now()
);

-- Events and their history are facts: no updates or deletes through the application's roles.
create function events_are_immutable() returns trigger language plpgsql as $$
begin
  raise exception 'events are immutable (% on events)', tg_op using errcode = '55000';
end $$;
create trigger events_immutable before update or delete on events
  for each row execute function events_are_immutable();

-- Wakes the relay as soon as a transaction with new outbox rows commits (one notification per statement).
create function notify_outbox() returns trigger language plpgsql as $$
begin
  perform pg_notify('outbox', '');
  return null;
end $$;
create trigger outbox_notify after insert on outbox for each statement execute function notify_outbox();
