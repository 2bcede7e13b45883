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
    KEY orders_customer (customer_id, id),
    CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE order_lines (
    order_id          BIGINT NOT NULL,
    line_no           INT NOT NULL,
    product_id        BIGINT NOT NULL,
    quantity          BIGINT NOT NULL,
    unit_price_cents  BIGINT NOT NULL,
    sku               VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    name              VARCHAR(200) NOT NULL,
    PRIMARY KEY (order_id, line_no),
    KEY order_lines_product (product_id),
    CONSTRAINT order_lines_order_fk FOREIGN KEY (order_id) REFERENCES orders (id),
    CONSTRAINT order_lines_product_fk FOREIGN KEY (product_id) REFERENCES products (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- The event store. `position` is the global order. It is not an
-- AUTO_INCREMENT: a transaction takes its positions from the single row of
-- event_head (UPDATE, so the row stays locked until COMMIT), as the last
-- step before committing. The next writer waits on that row lock, so
-- positions become visible strictly in order and a rolled-back transaction
-- gives its positions back: a consumer paging by position never skips one.
CREATE TABLE event_head (
    id        TINYINT NOT NULL,
    position  BIGINT NOT NULL,
    PRIMARY KEY (id)
) ENGINE = InnoDB;

INSERT INTO event_head (id, position) VALUES (1, 0);

CREATE TABLE events (
    position           BIGINT NOT NULL,
    `type`             VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    aggregate_type     VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    aggregate_id       BIGINT NOT NULL,
    aggregate_version  BIGINT NOT NULL,
    data               JSON NOT NULL,
    command_id         VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    occurred_at        DATETIME(3) NOT NULL,
    PRIMARY KEY (position),
    KEY events_aggregate (aggregate_type, aggregate_id, aggregate_version),
    KEY events_command (command_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Idempotency keys: the recorded answer of every keyed command that
-- succeeded, written in the same transaction as its effects.
CREATE TABLE idempotency_keys (
    idem_key     VARCHAR(160) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    digest       CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    status       SMALLINT NOT NULL,
    location     VARCHAR(96) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    body         TEXT NOT NULL,
    created_at   DATETIME(3) NOT NULL,
    PRIMARY KEY (idem_key),
    KEY idempotency_keys_created (created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
