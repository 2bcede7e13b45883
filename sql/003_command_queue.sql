-- 003_command_queue.sql - asynchronous commands (Prefer: respond-async).
--
-- A queued command is a row here. A worker of any daemon claims one with
-- SELECT ... FOR UPDATE SKIP LOCKED and marks it `running` with a lease
-- (lease_owner, lease_until), then runs it in a second transaction that
-- first locks the row again and checks the lease is still its own; the
-- command's effect and its `succeeded`/`failed` status commit together, so
-- it runs once. If the daemon dies, the row stays `running` until the lease
-- expires, and then any worker takes it up again.
--
-- `seq` is the order of acceptance. `aggregate_key` ('product:42',
-- 'order:7') is set for commands that name an existing aggregate: a worker
-- never takes a command while an earlier one for the same key is unfinished.
CREATE TABLE command_queue (
    seq              BIGINT NOT NULL AUTO_INCREMENT,
    queue_key        VARCHAR(160) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    command_id       VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    `type`           VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    envelope         MEDIUMTEXT NOT NULL,
    aggregate_key    VARCHAR(48) CHARACTER SET ascii COLLATE ascii_bin NULL,
    status           VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    attempts         INT NOT NULL,
    next_attempt_at  DATETIME(3) NOT NULL,
    lease_owner      CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL,
    lease_until      DATETIME(3) NULL,
    result           MEDIUMTEXT NULL,
    error            MEDIUMTEXT NULL,
    created_at       DATETIME(3) NOT NULL,
    finished_at      DATETIME(3) NULL,
    PRIMARY KEY (seq),
    UNIQUE KEY command_queue_key (queue_key),
    KEY command_queue_ready (status, next_attempt_at, seq),
    KEY command_queue_aggregate (aggregate_key, seq, status),
    KEY command_queue_status (status, seq)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
