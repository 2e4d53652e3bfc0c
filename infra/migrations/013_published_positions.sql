-- Positions at which figures across providers were published: a report answered at P to a role under disclosure
-- control. Such a role may ask `asAt` only at one of these (or at a frozen return's position), so a past position
-- cannot be chosen after the fact to difference two answers one event apart (docs/metrics.md, "Positions and as-at").
-- Holds positions only, nothing about a person.
create table published_positions (
  position          bigint primary key,
  first_published_at timestamptz not null default now()
);
