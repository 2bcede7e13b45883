-- 001_schema.sql - the write model and the event store.
-- Runs unchanged on MySQL 8.0+ and MariaDB 10.6+. Never edit once shipped:
-- add the next numbered file instead.

-- Names that compare case-insensitively (category names, emails) are unique
-- on LOWER(name) in a binary collation: `_ci` collations would also merge
-- accents (e and é), which the contract does not ask for.
CREATE TABLE categories (
    id          BIGINT NOT NULL AUTO_INCREMENT,
    name        VARCHAR(100) NOT NULL,
    name_key    VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
                GENERATED ALWAYS AS (LOWER(name)) STORED,
    created_at  DATETIME(3) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY categories_name_key (name_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE products (
    id           BIGINT NOT NULL AUTO_INCREMENT,
    sku          VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    name         VARCHAR(200) NOT NULL,
    description  VARCHAR(2000) NOT NULL,
    category_id  BIGINT NOT NULL,
    price_cents  BIGINT NOT NULL,
    stock        BIGINT NOT NULL,
    version      BIGINT NOT NULL,
    deleted_at   DATETIME(3) NULL,
    created_at   DATETIME(3) NOT NULL,
    updated_at   DATETIME(3) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY products_sku (sku),
    KEY products_category (category_id),
    CONSTRAINT products_category_fk FOREIGN KEY (category_id) REFERENCES categories (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE customers (
    id          BIGINT NOT NULL AUTO_INCREMENT,
    email       VARCHAR(254) NOT NULL,
    email_key   VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
                GENERATED ALWAYS AS (LOWER(email)) STORED,
    name        VARCHAR(200) NOT NULL,
    version     BIGINT NOT NULL,
    created_at  DATETIME(3) NOT NULL,
    updated_at  DATETIME(3) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY customers_email_key (email_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE orders (
    id             BIGINT NOT NULL AUTO_INCREMENT,
    customer_id    BIGINT NOT NULL,
    status         VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    version        BIGINT NOT NULL,
    cancel_reason  VARCHAR(500) NULL,
    created_at     DATETIME(3) NOT NULL,
    updated_at     DATETIME(3) NOT NULL,
    cancelled_at   DATETIME(3) NULL,
    PRIMARY KEY (id),
    KEY order