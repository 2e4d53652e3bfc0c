-- What was refused, for the data-quality report: who, which event type, which rule. Never the body:
-- a refused submission may hold exactly the personal data we must not keep.
create table rejected_submissions (
  id          bigint generated always as identity primary key,
  provider_id text,
  key_id      text not null,
  event_type  text,
  rule        text not null,
  field       text,
  source      text not null,
  received_at timestamptz not null default now()
);
create index rejected_submissions_provider_idx on rejected_submissions (provider_id, received_at);
