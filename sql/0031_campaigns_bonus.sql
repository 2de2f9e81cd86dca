-- 0031: awards read a rule's bonus campaigns that have not ended
-- (loyalty/ly_terms.c, loyalty/ly_award_batch.c); without this index that
-- was a scan of every campaign the city ever ran, on every award.
ALTER TABLE campaigns ADD KEY campaigns_bonus (bonus_rule_id, ends_at);
