-- The audit log becomes an RFC 9162 Merkle tree over the events (see docs/audit.md); the hash chain goes.
--
-- A leaf is SHA-256(0x00 ‖ the event's stored form as canonical JSON, sealed personal fields as ciphertext), so
-- erasing a person's key never changes a leaf. Leaves are numbered in the order the appender adds them (positions
-- are identity values with gaps, and can commit out of order), and audit_log_leaves maps each to its position.
-- Every perfect subtree is stored once (level, index), so appending k leaves costs O(k + log n) hashes and any
-- inclusion or consistency proof is O(log n) look-ups.
drop table audit_checkpoints;
drop table audit_chain;

create table audit_log_leaves (
  leaf_index bigint primary key,
  position   bigint not null unique references events (position),
  appended_at timestamptz not null default now()
);

create table audit_log_nodes (
  level smallint not null,
  index bigint not null,
  hash  bytea not null,
  primary key (level, index)
);

-- Signed tree heads (C2SP checkpoints, Ed25519). Verification takes the public key from settings, never from here.
create table audit_tree_heads (
  id        bigint generated always as identity primary key,
  tree_size bigint not null,
  root_hash bytea not null,
  signed_at timestamptz not null,
  checkpoint text not null
);
create index audit_tree_heads_size_idx on audit_tree_heads (tree_size);

create trigger audit_log_leaves_immutable before update or delete on audit_log_leaves
  for each row execute function audit_chain_is_append_only();
create trigger audit_log_nodes_immutable before update or delete on audit_log_nodes
  for each row execute function audit_chain_is_append_only();
create trigger audit_tree_heads_immutable before update or delete on audit_tree_heads
  for each row execute function audit_chain_is_append_only();
