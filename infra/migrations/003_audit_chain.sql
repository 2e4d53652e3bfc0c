-- Tamper-evident audit ledger for funders: a hash chain over the event log, with signed checkpoints.
--
-- ONE GLOBAL chain in position order, not one chain per stream:
--   hash_n = sha256(prev_hash || canonical content of event n), genesis prev_hash = 64 zeros.
-- A per-stream chain cannot notice a whole stream being deleted, or streams being reordered against each
-- other; the global chain links every event to the one before it in the log, so removing, inserting or
-- reordering anything (a whole stream included) breaks a link.
-- The chain is computed AFTER commit by a single chainer (services/platform/src/audit.ts, run in the relay
-- process under pg_advisory_xact_lock(7406003)), so appends are never serialised on a chain head. The price:
-- the newest events are covered once chained, i.e. after a few seconds (positions are identity values that
-- can commit out of order, so the chainer only links events that have settled; see docs/audit.md).
create table audit_chain (
  position   bigint primary key references events (position),
  prev_hash  text not null,
  hash       text not null,
  chained_at timestamptz default now()
);

-- Signed heads: an Ed25519 signature over '<position>:<head_hash>', with the public key to check it offline.
-- A copy held by a funder pins the chain up to that position, so truncating the tail is detected too.
create table audit_checkpoints (
  id         bigint generated always as identity primary key,
  position   bigint not null,
  head_hash  text not null,
  signature  text not null,
  public_key text not null,
  signed_at  timestamptz default now()
);

-- Like the events themselves, chain links are facts: no updates or deletes through the application's roles.
create function audit_chain_is_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'audit chain is append-only (% on %)', tg_op, tg_table_name using errcode = '55000';
end $$;
create trigger audit_chain_immutable before update or delete on audit_chain
  for each row execute function audit_chain_is_append_only();
create trigger audit_checkpoints_immutable before update or delete on audit_checkpoints
  for each row execute function audit_chain_is_append_only();
