-- 0001_foundation: organisations, their API keys, idempotency records.
-- Every table is InnoDB, utf8mb4; every time is UTC (the connection sets
-- time_zone = '+00:00').

CREATE TABLE orgs (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  public_id   VARCHAR(40)  NOT NULL,           -- org_<base32>
  name        VARCHAR(200) NOT NULL,
  is_issuer   TINYINT(1)   NOT NULL DEFAULT 0,
  is_partner  TINYINT(1)   NOT NULL DEFAULT 0,
  is_manager  TINYINT(1)   NOT NULL DEFAULT 0,
  created_at  DATETIME(6)  NOT NULL,
  UNIQUE KEY orgs_public (public_id),
  UNIQUE KEY orgs_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A key is "pk_<lookup>_<secret>": the lookup part finds the row, the
-- SHA-256 of the whole key is compared in constant time. The key itself is
-- shown once and never stored.
CREATE TABLE api_keys (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  public_id   VARCHAR(40)  NOT NULL,           -- key_<base32>, used to revoke
  org_id      BIGINT UNSIGNED NOT NULL,
  lookup      CHAR(16)     NOT NULL,
  hash        BINARY(32)   NOT NULL,
  created_at  DATETIME(6)  NOT NULL,
  revoked_at  DATETIME(6)  NULL,
  UNIQUE KEY api_keys_public (public_id),
  UNIQUE KEY api_keys_lookup (lookup),
  CONSTRAINT api_keys_org FOREIGN KEY (org_id) REFERENCES orgs (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Idempotency-Key records, written in the same transaction as the effect.
-- caller is "o:<org id>" for organisations, "r:<hex subject hash>" for
-- residents (erased with the member on opt-out).
CREATE TABLE idempotency (
  caller        VARCHAR(80)  NOT NULL,
  idem_key      VARCHAR(128) NOT NULL,
  request_hash  BINARY(32)   NOT NULL,         -- SHA-256 of method, route and body
  status        SMALLINT     NULL,
  body          MEDIUMTEXT   NULL,
  created_at    DATETIME(6)  NOT NULL,
  PRIMARY KEY (caller, idem_key),
  KEY idempotency_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
