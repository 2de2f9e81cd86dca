-- 0003_catalog: perks, redemptions (vouchers) and status passes.

CREATE TABLE perks (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  public_id         VARCHAR(40)   NOT NULL,          -- prk_<base32>
  partner_id        BIGINT UNSIGNED NOT NULL,
  title             VARCHAR(200)  NOT NULL,
  description       VARCHAR(2000) NOT NULL DEFAULT '',
  kind              ENUM('voucher','status') NOT NULL,
  cost_points       INT           NOT NULL,
  min_tier          VARCHAR(64)   NULL,
  stock             INT           NULL,              -- NULL = unlimited
  issued            INT           NOT NULL DEFAULT 0, -- units taken, net of refunds
  per_member_limit  INT           NULL,
  valid_from        DATETIME(6)   NULL,
  valid_to          DATETIME(6)   NULL,
  voucher_days      INT           NOT NULL DEFAULT 30,
  active            TINYINT(1)    NOT NULL DEFAULT 1,
  created_at        DATETIME(6)   NOT NULL,
  updated_at        DATETIME(6)   NOT NULL,
  UNIQUE KEY perks_public (public_id),
  KEY perks_partner (partner_id),
  CONSTRAINT perks_cost_nonneg CHECK (cost_points >= 0),
  CONSTRAINT perks_stock_bound CHECK (issued >= 0 AND (stock IS NULL OR issued <= stock)),
  CONSTRAINT perks_limit_pos CHECK (per_member_limit IS NULL OR per_member_limit > 0),
  CONSTRAINT perks_days_pos CHECK (voucher_days > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A voucher. The code is stored as SHA-256 (lookup) and sealed with a
-- server key (so its owner can see it again); the seal is wiped once the
-- voucher is used, cancelled or expired.
CREATE TABLE redemptions (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  public_id     VARCHAR(40)  NOT NULL,              -- red_<base32>
  member_id     BIGINT UNSIGNED NOT NULL,
  perk_id       BIGINT UNSIGNED NOT NULL,
  points        INT          NOT NULL,
  code_hash     BINARY(32)   NOT NULL,
  code_sealed   VARBINARY(128) NULL,
  status        ENUM('issued','used','cancelled','expired') NOT NULL DEFAULT 'issued',
  issued_at     DATETIME(6)  NOT NULL,
  expires_at    DATETIME(6)  NOT NULL,
  used_at       DATETIME(6)  NULL,
  used_by       BIGINT UNSIGNED NULL,               -- partner org
  ended_at      DATETIME(6)  NULL,                  -- cancelled or expired
  UNIQUE KEY redemptions_public (public_id),
  UNIQUE KEY redemptions_code (code_hash),
  KEY redemptions_member (member_id, id),
  KEY redemptions_expiry (status, expires_at),
  CONSTRAINT redemptions_points_nonneg CHECK (points >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A status pass: a signed, short-lived proof of entitlement. The signed
-- text names the perk, the expiry and the nonce, never the member; this
-- row links the nonce to the member only for the member's access log.
CREATE TABLE passes (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  nonce       BINARY(16)   NOT NULL,
  member_id   BIGINT UNSIGNED NOT NULL,
  perk_id     BIGINT UNSIGNED NOT NULL,
  created_at  DATETIME(6)  NOT NULL,
  expires_at  DATETIME(6)  NOT NULL,
  UNIQUE KEY passes_nonce (nonce),
  KEY passes_member (member_id)
) ENGINE=InnoDB;
