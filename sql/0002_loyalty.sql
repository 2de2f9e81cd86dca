-- 0002_loyalty: districts, the tier ladder, members and their consent,
-- earning rules, awards, the append-only ledger, the access log, and the
-- daily aggregates that stats read instead of scanning members or ledger.

CREATE TABLE settings (
  name   VARCHAR(64) NOT NULL PRIMARY KEY,
  value  BIGINT      NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO settings (name, value) VALUES ('star_points', 100), ('stars_per_flag', 6);

CREATE TABLE tiers (
  position             INT         NOT NULL PRIMARY KEY,   -- 0 = lowest
  name                 VARCHAR(64) NOT NULL,
  min_lifetime_points  BIGINT      NOT NULL,
  UNIQUE KEY tiers_name (name),
  CONSTRAINT tiers_min_nonneg CHECK (min_lifetime_points >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
INSERT INTO tiers (position, name, min_lifetime_points) VALUES (0, 'Member', 0);

CREATE TABLE districts (
  code        VARCHAR(64)  NOT NULL PRIMARY KEY,
  name        VARCHAR(200) NOT NULL,
  population  BIGINT       NOT NULL,
  updated_at  DATETIME(6)  NOT NULL,
  CONSTRAINT districts_population_nonneg CHECK (population >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A member. subject_hash is HMAC-SHA256(subject key, JWT sub): the raw
-- subject is never stored. On opt-out the row is kept only as an anonymous
-- shell for the ledger's arithmetic: subject_hash, district and channel are
-- set to NULL and status to 'closed'.
CREATE TABLE members (
  id                 BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  subject_hash       BINARY(32)   NULL,
  status             ENUM('active','closed') NOT NULL DEFAULT 'active',
  district           VARCHAR(64)  NULL,
  channel            VARCHAR(64)  NULL,
  enrolled_at        DATETIME(6)  NOT NULL,
  left_at            DATETIME(6)  NULL,
  balance            BIGINT       NOT NULL DEFAULT 0,
  lifetime_points    BIGINT       NOT NULL DEFAULT 0,
  sources_all        TINYINT(1)   NOT NULL DEFAULT 1,  -- 1: every issuer may report
  first_earned_at    DATETIME(6)  NULL,
  first_redeemed_at  DATETIME(6)  NULL,
  UNIQUE KEY members_subject (subject_hash),
  CONSTRAINT members_balance_nonneg CHECK (balance >= 0),
  CONSTRAINT members_lifetime_nonneg CHECK (lifetime_points >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Issuers a member allows, used only when members.sources_all = 0.
CREATE TABLE member_sources (
  member_id  BIGINT UNSIGNED NOT NULL,
  org_id     BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (member_id, org_id)
) ENGINE=InnoDB;

-- Consent history: one row per enrolment and per change of sources.
CREATE TABLE consents (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  member_id        BIGINT UNSIGNED NOT NULL,
  at               DATETIME(6)  NOT NULL,
  action           ENUM('enroll','sources') NOT NULL,
  consent_version  VARCHAR(64)  NULL,
  district         VARCHAR(64)  NULL,
  channel          VARCHAR(64)  NULL,
  sources          TEXT         NULL,          -- JSON array of org ids, NULL = all
  KEY consents_member (member_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE rules (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  code         VARCHAR(64)   NOT NULL,
  title        VARCHAR(200)  NOT NULL,
  description  VARCHAR(2000) NOT NULL DEFAULT '',
  points       INT           NOT NULL,
  daily_cap    INT           NULL,
  active       TINYINT(1)    NOT NULL DEFAULT 1,
  created_at   DATETIME(6)   NOT NULL,
  updated_at   DATETIME(6)   NOT NULL,
  UNIQUE KEY rules_code (code),
  CONSTRAINT rules_points_pos CHECK (points > 0),
  CONSTRAINT rules_cap_pos CHECK (daily_cap IS NULL OR daily_cap > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE rule_issuers (
  rule_id  BIGINT UNSIGNED NOT NULL,
  org_id   BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (rule_id, org_id)
) ENGINE=InnoDB;

-- One row per accepted award; (issuer, external_ref) makes awards
-- idempotent. day is the local day in the programme's time zone, for caps.
CREATE TABLE awards (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  issuer_id     BIGINT UNSIGNED NOT NULL,
  external_ref  VARCHAR(128) NOT NULL,
  member_id     BIGINT UNSIGNED NOT NULL,
  rule_id       BIGINT UNSIGNED NOT NULL,
  base_points   INT          NOT NULL,         -- rule points x campaign bonus, before the cap
  points        INT          NOT NULL,         -- credited
  capped        TINYINT(1)   NOT NULL DEFAULT 0,
  campaign_id   BIGINT UNSIGNED NULL,
  day           DATE         NOT NULL,
  occurred_at   DATETIME(6)  NULL,
  created_at    DATETIME(6)  NOT NULL,
  UNIQUE KEY awards_ref (issuer_id, external_ref),
  KEY awards_cap (member_id, rule_id, day),
  CONSTRAINT awards_points_nonneg CHECK (points >= 0 AND points <= base_points)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The append-only ledger. Only INSERTs; the sign of points is fixed by kind.
CREATE TABLE ledger (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  member_id      BIGINT UNSIGNED NOT NULL,
  at             DATETIME(6)  NOT NULL,
  kind           ENUM('award','redemption','refund','closure') NOT NULL,
  points         BIGINT       NOT NULL,
  balance_after  BIGINT       NOT NULL,
  rule_id        BIGINT UNSIGNED NULL,
  perk_id        BIGINT UNSIGNED NULL,
  award_id       BIGINT UNSIGNED NULL,
  redemption_id  BIGINT UNSIGNED NULL,
  KEY ledger_member (member_id, id),
  CONSTRAINT ledger_sign CHECK ((kind IN ('award','refund') AND points > 0)
                             OR (kind IN ('redemption','closure') AND points < 0)),
  CONSTRAINT ledger_balance_nonneg CHECK (balance_after >= 0)
) ENGINE=InnoDB;

-- Who touched a member's data: organisation and time, never a person.
CREATE TABLE access_log (
  id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  member_id  BIGINT UNSIGNED NOT NULL,
  org_id     BIGINT UNSIGNED NOT NULL,
  action     ENUM('award','voucher_check','voucher_use','pass_check') NOT NULL,
  at         DATETIME(6) NOT NULL,
  KEY access_log_member (member_id, id)
) ENGINE=InnoDB;

-- Aggregates, updated in the same transaction as the change that moves
-- them. Rows are split into LIM_AGG_SHARDS shards (perkd: the slot of the
-- transaction, loyalty/ly_slots.c; otherwise member id mod shards) so
-- that concurrent writers do not wait on one row; readers sum the shards.

-- Events by the day they happened: enrolments and departures.
CREATE TABLE agg_enroll_daily (
  day         DATE        NOT NULL,
  district    VARCHAR(64) NOT NULL,
  channel     VARCHAR(64) NOT NULL DEFAULT '',
  shard       TINYINT UNSIGNED NOT NULL,
  enrolled    INT NOT NULL DEFAULT 0,
  left_count  INT NOT NULL DEFAULT 0,
  PRIMARY KEY (day, district, channel, shard)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Cohorts by enrolment day: how many of them went on to earn (ever, and
-- within 30 days of enrolling) and to redeem. Never decremented.
CREATE TABLE agg_funnel_daily (
  enroll_day  DATE        NOT NULL,
  district    VARCHAR(64) NOT NULL,
  channel     VARCHAR(64) NOT NULL DEFAULT '',
  shard       TINYINT UNSIGNED NOT NULL,
  enrolled    INT NOT NULL DEFAULT 0,
  earned      INT NOT NULL DEFAULT 0,
  earned_30d  INT NOT NULL DEFAULT 0,
  redeemed    INT NOT NULL DEFAULT 0,
  PRIMARY KEY (enroll_day, district, channel, shard)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Points moved per day, district, ledger kind and rule (awards) or perk
-- (redemptions, refunds), and campaign bonus (0 = none).
CREATE TABLE agg_points_daily (
  day          DATE        NOT NULL,
  district     VARCHAR(64) NOT NULL,
  kind         ENUM('award','redemption','refund','closure') NOT NULL,
  ref_id       BIGINT UNSIGNED NOT NULL DEFAULT 0,
  campaign_id  BIGINT UNSIGNED NOT NULL DEFAULT 0,
  shard        TINYINT UNSIGNED NOT NULL,
  entries      BIGINT NOT NULL DEFAULT 0,
  points       BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (day, district, kind, ref_id, campaign_id, shard)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
