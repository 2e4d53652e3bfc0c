-- Frozen returns: a report's figures as the freezing role saw them (after disclosure control), kept for good so that
-- what was submitted can be shown again byte for byte, and compared with the same report now (a restatement).
--
-- `figures` is the report exactly as it was served, as canonical JSON text (never jsonb, which would re-order and
-- re-space it); `figures_sha256` is SHA-256 of that text. The API inserts a row and holds no signing key; the relay,
-- which holds AUDIT_SIGNING_KEY, signs each unsigned return once (frozen_return_signatures) over the statement in
-- docs/audit.md, "Frozen returns". Both tables are append-only, like the audit log.
create table frozen_returns (
  id               uuid primary key,
  report           text not null,
  query            text not null,              -- canonical JSON of the report's query
  role             text not null,              -- the freezing role, whose disclosure control the figures passed
  figures          text not null,              -- canonical JSON of the report as served
  figures_sha256   text not null check (figures_sha256 ~ '^[0-9a-f]{64}$'),
  position         bigint not null,            -- every event at or below it may be counted (see docs/metrics.md)
  positions        text not null,              -- canonical JSON of the read models' positions the report used
  as_of            date not null,              -- the date the report's date-dependent rules used
  disclosure_rules text not null,
  code_version     text not null,
  frozen_by        text not null,              -- the key id of the freezing key, never the secret
  frozen_at        timestamptz not null
);
create index frozen_returns_frozen_at_idx on frozen_returns (frozen_at, id);

create table frozen_return_signatures (
  return_id uuid primary key references frozen_returns (id),
  statement text not null,                     -- the exact text signed, as a signed note (Ed25519, AUDIT_SIGNING_KEY)
  signed_at timestamptz not null default now()
);

create trigger frozen_returns_immutable before update or delete on frozen_returns
  for each row execute function audit_chain_is_append_only();
create trigger frozen_return_signatures_immutable before update or delete on frozen_return_signatures
  for each row execute function audit_chain_is_append_only();
