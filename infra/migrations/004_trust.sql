-- Key lifecycle, crypto-shredding of personal fields, match index for data partners.

-- Rotation keeps the old key working until expires_at (a grace period for the charity to swap it in);
-- revocation is immediate. rotated_from links a key to the one it replaced, created_by to the key that made it.
alter table api_keys add column expires_at timestamptz;
alter table api_keys add column rotated_from text references api_keys (key_id);
alter table api_keys add column created_by text;

-- One data key per participant stream, encrypted under the key-encryption key (PERSONAL_DATA_KEY, outside
-- the database). Deleting a row is the erasure: the participant's sealed fields can never be decrypted again.
create table participant_keys (
  stream_id   text primary key,
  wrapped_key text not null,
  created_at  timestamptz not null default now()
);

-- Data partners name participants by match token; the index holds the token keyed again with a server secret
-- (never the token itself), so a copy of the database does not reveal tokens to test guesses against.
create table match_index (
  lookup      text not null,
  stream_id   text not null,
  provider_id text not null,
  primary key (lookup, stream_id)
);
create index match_index_stream_idx on match_index (stream_id);
