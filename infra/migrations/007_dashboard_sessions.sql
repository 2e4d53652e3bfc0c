-- Dashboard sign-ins, held server-side. The cookie carries a random token; this table holds only its SHA-256, so a copy
-- of the database holds no usable cookie. A session ends at sign-out, when an admin revokes it, when it expires, or
-- when its key is revoked or expires (every request joins api_keys).
create table dashboard_sessions (
  session_id uuid primary key,               -- public handle: what admins list and revoke
  token_hash text not null unique,           -- SHA-256 (hex) of the cookie's token
  key_id     text not null references api_keys (key_id),
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  ended_at   timestamptz
);
create index dashboard_sessions_open on dashboard_sessions (key_id) where ended_at is null;
