-- 0030_stats: roll-ups that let a stats call read a few thousand rows
-- at city scale instead of the hundreds of thousands the daily tables of
-- 0002 hold after a year (days x districts x channels x 16 shards).
--
-- They are kept by triggers on the daily tables, so they move in the same
-- transaction, statement for statement, as the rows the domain code
-- (ly_ledger_append, enrolment, opt-out) already writes: no domain
-- function has to know they exist, and they can never drift from them.
-- perkctl stats rebuild recomputes both; perkctl stats verify compares
-- them.
--
-- Enrolments happen once per member, so the enrolment roll-ups are not
-- sharded; the points and funnel totals are written by awards, the hot
-- path, and keep the shard of the row that moved them.

-- Enrolments and departures per day and district (all channels).
-- Feeds /v1/stats/enrollment and the member counts: 365 x districts rows
-- a year.
CREATE TABLE agg_members_daily (
  day         DATE        NOT NULL,
  district    VARCHAR(64) NOT NULL,
  enrolled    BIGINT NOT NULL DEFAULT 0,
  left_count  BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (day, district)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Cohorts per channel, enrolment day and district: what a campaign (a
-- channel and a window) reads.
CREATE TABLE agg_channel_daily (
  channel     VARCHAR(64) NOT NULL,
  enroll_day  DATE        NOT NULL,
  district    VARCHAR(64) NOT NULL,
  enrolled    BIGINT NOT NULL DEFAULT 0,
  earned      BIGINT NOT NULL DEFAULT 0,
  earned_30d  BIGINT NOT NULL DEFAULT 0,
  redeemed    BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (channel, enroll_day, district)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The funnel over all time per district and channel (overview).
CREATE TABLE agg_funnel_total (
  district    VARCHAR(64) NOT NULL,
  channel     VARCHAR(64) NOT NULL,
  shard       TINYINT UNSIGNED NOT NULL,
  enrolled    BIGINT NOT NULL DEFAULT 0,
  earned      BIGINT NOT NULL DEFAULT 0,
  earned_30d  BIGINT NOT NULL DEFAULT 0,
  redeemed    BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (district, channel, shard)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Points moved over all time per district, kind, rule or perk, campaign
-- (overview, campaign bonus points).
CREATE TABLE agg_points_total (
  district     VARCHAR(64) NOT NULL,
  kind         ENUM('award','redemption','refund','closure') NOT NULL,
  ref_id       BIGINT UNSIGNED NOT NULL DEFAULT 0,
  campaign_id  BIGINT UNSIGNED NOT NULL DEFAULT 0,
  shard        TINYINT UNSIGNED NOT NULL,
  entries      BIGINT NOT NULL DEFAULT 0,
  points       BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (district, kind, ref_id, campaign_id, shard),
  KEY agg_points_total_campaign (campaign_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- INSERT ... ON DUPLICATE KEY UPDATE on a daily table fires AFTER INSERT
-- for a new row and AFTER UPDATE for an existing one; the UPDATE trigger
-- adds NEW - OLD. One trigger per target keeps each a single statement.

CREATE TRIGGER agg_enroll_daily_ins_members AFTER INSERT ON agg_enroll_daily
FOR EACH ROW INSERT INTO agg_members_daily (day, district, enrolled, left_count)
  VALUES (NEW.day, NEW.district, NEW.enrolled, NEW.left_count)
  ON DUPLICATE KEY UPDATE enrolled = enrolled + NEW.enrolled,
    left_count = left_count + NEW.left_count;

CREATE TRIGGER agg_enroll_daily_upd_members AFTER UPDATE ON agg_enroll_daily
FOR EACH ROW INSERT INTO agg_members_daily (day, district, enrolled, left_count)
  VALUES (NEW.day, NEW.district, NEW.enrolled - OLD.enrolled,
    NEW.left_count - OLD.left_count)
  ON DUPLICATE KEY UPDATE enrolled = enrolled + NEW.enrolled - OLD.enrolled,
    left_count = left_count + NEW.left_count - OLD.left_count;

CREATE TRIGGER agg_funnel_daily_ins_channel AFTER INSERT ON agg_funnel_daily
FOR EACH ROW INSERT INTO agg_channel_daily (channel, enroll_day, district,
    enrolled, earned, earned_30d, redeemed)
  VALUES (NEW.channel, NEW.enroll_day, NEW.district, NEW.enrolled, NEW.earned,
    NEW.earned_30d, NEW.redeemed)
  ON DUPLICATE KEY UPDATE enrolled = enrolled + NEW.enrolled,
    earned = earned + NEW.earned, earned_30d = earned_30d + NEW.earned_30d,
    redeemed = redeemed + NEW.redeemed;

CREATE TRIGGER agg_funnel_daily_upd_channel AFTER UPDATE ON agg_funnel_daily
FOR EACH ROW INSERT INTO agg_channel_daily (channel, enroll_day, district,
    enrolled, earned, earned_30d, redeemed)
  VALUES (NEW.channel, NEW.enroll_day, NEW.district,
    NEW.enrolled - OLD.enrolled, NEW.earned - OLD.earned,
    NEW.earned_30d - OLD.earned_30d, NEW.redeemed - OLD.redeemed)
  ON DUPLICATE KEY UPDATE enrolled = enrolled + NEW.enrolled - OLD.enrolled,
    earned = earned + NEW.earned - OLD.earned,
    earned_30d = earned_30d + NEW.earned_30d - OLD.earned_30d,
    redeemed = redeemed + NEW.redeemed - OLD.redeemed;

CREATE TRIGGER agg_funnel_daily_ins_total AFTER INSERT ON agg_funnel_daily
FOR EACH ROW INSERT INTO agg_funnel_total (district, channel, shard,
    enrolled, earned, earned_30d, redeemed)
  VALUES (NEW.district, NEW.channel, NEW.shard, NEW.enrolled, NEW.earned,
    NEW.earned_30d, NEW.redeemed)
  ON DUPLICATE KEY UPDATE enrolled = enrolled + NEW.enrolled,
    earned = earned + NEW.earned, earned_30d = earned_30d + NEW.earned_30d,
    redeemed = redeemed + NEW.redeemed;

CREATE TRIGGER agg_funnel_daily_upd_total AFTER UPDATE ON agg_funnel_daily
FOR EACH ROW INSERT INTO agg_funnel_total (district, channel, shard,
    enrolled, earned, earned_30d, redeemed)
  VALUES (NEW.district, NEW.channel, NEW.shard, NEW.enrolled - OLD.enrolled,
    NEW.earned - OLD.earned, NEW.earned_30d - OLD.earned_30d,
    NEW.redeemed - OLD.redeemed)
  ON DUPLICATE KEY UPDATE enrolled = enrolled + NEW.enrolled - OLD.enrolled,
    earned = earned + NEW.earned - OLD.earned,
    earned_30d = earned_30d + NEW.earned_30d - OLD.earned_30d,
    redeemed = redeemed + NEW.redeemed - OLD.redeemed;

CREATE TRIGGER agg_points_daily_ins_total AFTER INSERT ON agg_points_daily
FOR EACH ROW INSERT INTO agg_points_total (district, kind, ref_id,
    campaign_id, shard, entries, points)
  VALUES (NEW.district, NEW.kind, NEW.ref_id, NEW.campaign_id, NEW.shard,
    NEW.entries, NEW.points)
  ON DUPLICATE KEY UPDATE entries = entries + NEW.entries,
    points = points + NEW.points;

CREATE TRIGGER agg_points_daily_upd_total AFTER UPDATE ON agg_points_daily
FOR EACH ROW INSERT INTO agg_points_total (district, kind, ref_id,
    campaign_id, shard, entries, points)
  VALUES (NEW.district, NEW.kind, NEW.ref_id, NEW.campaign_id, NEW.shard,
    NEW.entries - OLD.entries, NEW.points - OLD.points)
  ON DUPLICATE KEY UPDATE entries = entries + NEW.entries - OLD.entries,
    points = points + NEW.points - OLD.points;
