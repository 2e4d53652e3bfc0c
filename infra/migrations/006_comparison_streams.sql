-- Comparison records shared by data partners have streams of their own (docs/evaluation.md).
alter table streams drop constraint if exists streams_kind_check;
alter table streams add constraint streams_kind_check check (kind in ('participant', 'grant', 'comparison'));
