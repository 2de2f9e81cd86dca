-- 0011_awards_cap_points: the daily cap needs what a member earned from a
-- rule today, SUM(points) over awards (member, rule, day). With points in
-- the index that sum reads the index only, instead of one primary-key
-- lookup per award of the day: single awards (AWARD_TERMS) and batches
-- (ly_award_batch.c, one IN list per rule) both read it. Measured with
-- tests/bench/batch.py: the batch's cap query went from the costliest of
-- its statements to ... (docs/benchmarks.md, "Batch awards").

ALTER TABLE awards DROP KEY awards_cap, ADD KEY awards_cap (member_id, rule_id, day, points);
