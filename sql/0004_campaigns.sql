-- 0004_campaigns: enrolment campaigns (a code that attributes sign-ups)
-- and optional award bonuses.

CREATE TABLE campaigns (
  id                 BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  public_id          VARCHAR(40)  NOT NULL,         -- cmp_<base32>
  name               VARCHAR(200) NOT NULL,
  code               VARCHAR(64)  NOT NULL,         -- the enrolment channel
  starts_at          DATETIME(6)  NOT NULL,
  ends_at            DATETIME(6)  NOT NULL,
  enrollment_target  INT          NULL,
  bonus_rule_id      BIGINT UNSIGNED NULL,
  bonus_pct          INT          NULL,             -- multiplier x 100: 150 = 1.5x
  all_districts      TINYINT(1)   NOT NULL DEFAULT 1,
  created_at         DATETIME(6)  NOT NULL,
  updated_at         DATETIME(6)  NOT NULL,
  UNIQUE KEY campaigns_public (public_id),
  UNIQUE KEY campaigns_code (code),
  CONSTRAINT campaigns_window CHECK (ends_at > starts_at),
  CONSTRAINT campaigns_target_pos CHECK (enrollment_target IS NULL OR enrollment_target > 0),
  CONSTRAINT campaigns_bonus CHECK (bonus_pct IS NULL OR (bonus_pct > 100 AND bonus_pct <= 1000))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE campaign_districts (
  campaign_id  BIGINT UNSIGNED NOT NULL,
  district     VARCHAR(64) NOT NULL,
  PRIMARY KEY (campaign_id, district)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
