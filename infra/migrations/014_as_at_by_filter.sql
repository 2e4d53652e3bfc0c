-- "As at P" is a filter on versioned read-model rows (each row carries the positions at which it became and stopped
-- being true; see docs/metrics.md, "Positions and as-at"), no longer a replay of the log into copies of the read
-- models: the copies and the table listing them go.
do $$
declare s text;
begin
  for s in select nspname from pg_namespace where nspname ~ '^rm_[a-z0-9_]+_at_[0-9]+$' loop
    execute format('drop schema %I cascade', s);
  end loop;
end $$;
drop table if exists as_at_read_models;
