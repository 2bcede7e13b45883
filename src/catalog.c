/* catalog.c - the SQL of every prepared statement; parameters are always '?' */
#include "catalog.h"

#define W(id, text) [id] = {DB_WRITE, #id, text}
#define R(id, text) [id] = {DB_READ, #id, text}

#define IN4 "(?, ?, ?, ?)"
#define IN16 "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define LINE_INSERT                                                                                \
    "INSERT INTO order_lines (order_id, line_no, product_id, quantity, unit_price_cents, sku, "    \
    "name) VALUES "
#define LINE_ROW "(?, ?, ?, ?, ?, ?, ?)"
#define EVENT_COLS                                                                                 \
    "SELECT position, `type`, aggregate_type, aggregate_id, aggregate_version, data, command_id, " \
    "CONCAT(REPLACE(CAST(occurred_at AS CHAR), ' ', 'T'), 'Z') FROM events "
#define IN10 "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define PRODUCT_LIST_COLS "SELECT doc, product_id, price_cents, units_sold FROM product_view "

const struct catalog_entry catalog[Q__COUNT] = {
    /* categories: a new name creates the category; either way the id comes back */
    W(Q_CATEGORY_UPSERT, "INSERT INTO categories (name, created_at) VALUES (?, ?) "
                         "ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id)"),
    W(Q_CATEGORY_NAME, "SELECT name FROM categories WHERE id = ?"),
    W(Q_CATEGORY_FIND, "SELECT id FROM categories WHERE name_key = LOWER(?)"),
    W(Q_PRODUCT_INSERT,
      "INSERT INTO products (sku, name, description, category_id, price_cents, stock, version, "
      "deleted_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, NULL, ?, ?)"),
    W(Q_PRODUCT_LOCK, "SELECT version, deleted_at IS NULL, price_cents, stock, sku, name, "
                      "description, category_id FROM products WHERE id = ? FOR UPDATE"),
    W(Q_PRODUCT_UPDATE, "UPDATE products SET name = ?, description = ?, category_id = ?, "
                        "version = version + 1, updated_at = ? WHERE id = ?"),
    W(Q_PRODUCT_PRICE, "UPDATE products SET price_cents = ?, version = version + 1, "
                       "updated_at = ? WHERE id = ?"),
    W(Q_PRODUCT_RESTOCK, "UPDATE products SET stock = stock + ?, version = version + 1, "
                         "updated_at = ? WHERE id = ?"),
    W(Q_PRODUCT_DELETE, "UPDATE products SET deleted_at = ?, version = version + 1, "
                        "updated_at = ? WHERE id = ?"),
    /* stock moved by orders: no new version */
    W(Q_PRODUCT_STOCK_MOVE, "UPDATE products SET stock = stock + ?, updated_at = ? WHERE id = ?"),
    /* the same for up to 4 products (ids padded with the last pair again), in id order */
    W(Q_PRODUCT_STOCK_MOVE4, "UPDATE products SET stock = stock + CASE id WHEN ? THEN ? "
                             "WHEN ? THEN ? WHEN ? THEN ? WHEN ? THEN ? END, updated_at = ? "
                             "WHERE id IN " IN4),
    W(Q_CUSTOMER_INSERT, "INSERT INTO customers (email, name, version, created_at, updated_at) "
                         "VALUES (?, ?, 1, ?, ?)"),
    /*
     * the customer's lock: PlaceOrder and CancelOrder take it before the
     * products (so they never deadlock), so that the customer_view triggers
     * of one customer's orders run one transaction at a time and each reads
     * the orders as the one before left them (its last_order_at is a MAX)
     */
    W(Q_CUSTOMER_LOCK, "SELECT id FROM customers WHERE id = ? FOR UPDATE"),
    W(Q_ORDER_INSERT, "INSERT INTO orders (customer_id, status, version, cancel_reason, "
                      "created_at, updated_at, cancelled_at) "
                      "VALUES (?, 'placed', 1, NULL, ?, ?, NULL)"),
    /*
     * PlaceOrder's products, locked in one statement per 4 or 16 (the ids
     * padded with repeats, which IN ignores): InnoDB locks them as it scans
     * the primary key, in ascending id order, as one lock per product did
     */
    W(Q_ORDER_PRODUCTS4, "SELECT id, deleted_at IS NULL, price_cents, stock, sku, name "
                         "FROM products WHERE id IN " IN4 " ORDER BY id FOR UPDATE"),
    W(Q_ORDER_PRODUCTS16, "SELECT id, deleted_at IS NULL, price_cents, stock, sku, name "
                          "FROM products WHERE id IN " IN16 " ORDER BY id FOR UPDATE"),
    /* an order's lines, 1 to 4 rows per statement */
    W(Q_ORDER_LINE_INSERT, LINE_INSERT LINE_ROW),
    W(Q_ORDER_LINE_INSERT2, LINE_INSERT LINE_ROW ", " LINE_ROW),
    W(Q_ORDER_LINE_INSERT3, LINE_INSERT LINE_ROW ", " LINE_ROW ", " LINE_ROW),
    W(Q_ORDER_LINE_INSERT4, LINE_INSERT LINE_ROW ", " LINE_ROW ", " LINE_ROW ", " LINE_ROW),
    W(Q_ORDER_LOCK, "SELECT status, version, customer_id FROM orders WHERE id = ? FOR UPDATE"),
    /* who owns an order: a customer's asynchronous CancelOrder is checked when accepted */
    W(Q_ORDER_OWNER, "SELECT customer_id FROM orders WHERE id = ?"),
    W(Q_ORDER_LINES, "SELECT product_id, quantity FROM order_lines WHERE order_id = ? "
                     "ORDER BY product_id"),
    W(Q_ORDER_TRANSITION, "UPDATE orders SET status = ?, version = version + 1, updated_at = ?, "
                          "cancelled_at = ?, cancel_reason = ? WHERE id = ?"),
    /* positions: the head row stays locked until COMMIT (see sql/001_schema.sql) */
    W(Q_EVENT_HEAD, "UPDATE event_head SET position = LAST_INSERT_ID(position + ?) WHERE id = 1"),
    W(Q_EVENT_INSERT, "INSERT INTO events (position, `type`, aggregate_type, aggregate_id, "
                      "aggregate_version, data, command_id, occurred_at) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
    /* a key is claimed first: a racing twin waits on it, then replays the winner's answer */
    W(Q_IDEM_CLAIM, "INSERT INTO idempotency_keys (idem_key, digest, status, location, body, "
                    "created_at) VALUES (?, ?, 0, '', '', ?)"),
    W(Q_IDEM_GET, "SELECT digest, status, location, body FROM idempotency_keys WHERE idem_key = ?"),
    W(Q_IDEM_SAVE, "UPDATE idempotency_keys SET status = ?, location = ?, body = ? "
                   "WHERE idem_key = ?"),
    W(Q_IDEM_PURGE, "DELETE FROM idempotency_keys WHERE created_at < ? LIMIT 500"),

    /* asynchronous commands (sql/003_command_queue.sql) */
    W(Q_QUEUE_INSERT,
      "INSERT INTO command_queue (queue_key, command_id, `type`, envelope, aggregate_key, status, "
      "attempts, next_attempt_at, lease_owner, lease_until, result, error, created_at, "
      "finished_at) VALUES (?, ?, ?, ?, ?, 'queued', 0, ?, NULL, NULL, NULL, NULL, ?, NULL)"),
    /*
     * The oldest ready command whose aggregate has no earlier unfinished one
     * (by the (status, seq) index: finished history is never walked); then,
     * if none, one whose worker's lease expired.
     */
    W(Q_QUEUE_CLAIM,
      "SELECT c.seq, c.attempts, c.`type` FROM command_queue c FORCE INDEX (command_queue_status) "
      "WHERE c.status = 'queued' AND c.next_attempt_at <= ? AND NOT EXISTS (SELECT 1 FROM "
      "command_queue p WHERE p.aggregate_key = c.aggregate_key AND p.seq < c.seq AND "
      "p.status IN ('queued', 'running')) ORDER BY c.seq LIMIT 1 FOR UPDATE SKIP LOCKED"),
    W(Q_QUEUE_CLAIM_EXPIRED,
      "SELECT c.seq, c.attempts, c.`type` FROM command_queue c FORCE INDEX (command_queue_status) "
      "WHERE c.status = 'running' AND c.lease_until < ? ORDER BY c.seq LIMIT 1 "
      "FOR UPDATE SKIP LOCKED"),
    W(Q_QUEUE_MARK_RUNNING, "UPDATE command_queue SET status = 'running', attempts = attempts + 1, "
                            "lease_owner = ?, lease_until = ? WHERE seq = ?"),
    W(Q_QUEUE_LOAD, "SELECT status, lease_owner, command_id, envelope "
                    "FROM command_queue WHERE seq = ? FOR UPDATE"),
    /* the command a key names, once its idempotency row was purged (queue_key_replay) */
    W(Q_QUEUE_BOUND, "SELECT command_id, `type`, envelope FROM command_queue WHERE queue_key = ?"),
    W(Q_QUEUE_FINISH, "UPDATE command_queue SET status = ?, result = ?, error = ?, "
                      "finished_at = ?, lease_owner = NULL, lease_until = NULL WHERE seq = ?"),
    W(Q_QUEUE_RETRY, "UPDATE command_queue SET status = ?, error = ?, next_attempt_at = ?, "
                     "finished_at = ?, lease_owner = NULL, lease_until = NULL "
                     "WHERE seq = ? AND lease_owner = ?"),
#define QUEUE_COLS                                                                                 \
    "SELECT command_id, `type`, status, result, error, attempts, "                                 \
    "CONCAT(REPLACE(CAST(created_at AS CHAR), ' ', 'T'), 'Z'), "                                   \
    "CONCAT(REPLACE(CAST(finished_at AS CHAR), ' ', 'T'), 'Z'), seq FROM command_queue "
    W(Q_QUEUE_GET, QUEUE_COLS "WHERE queue_key = ?"),
    /* an admin's GET /commands/{id} of a command another principal sent: the latest */
    W(Q_QUEUE_GET_ID, QUEUE_COLS "WHERE command_id = ? ORDER BY seq DESC LIMIT 1"),
    W(Q_QUEUE_LIST, QUEUE_COLS "WHERE seq > ? ORDER BY seq LIMIT ?"),
    W(Q_QUEUE_LIST_STATUS,
      QUEUE_COLS "WHERE status = ? AND seq > ? ORDER BY seq LIMIT ?"),
    W(Q_QUEUE_STATS, "SELECT status, COUNT(*), COALESCE(TIMESTAMPDIFF(MICROSECOND, MIN(created_at), "
                     "UTC_TIMESTAMP(3)), 0) FROM command_queue WHERE status <> 'succeeded' "
                     "GROUP BY status"),
    /* succeeded commands past their retention (queue.c queue_purge), oldest first */
    W(Q_QUEUE_PURGE, "DELETE FROM command_queue WHERE status = 'succeeded' AND finished_at < ? "
                     "ORDER BY seq LIMIT 500"),

    R(Q_PRODUCT_DOC, "SELECT doc FROM product_view WHERE product_id = ?"),
    /* concurrent GETs by id answered together (batch.c); unused places repeat an id */
    R(Q_PRODUCT_DOCS4, "SELECT product_id, doc FROM product_view WHERE product_id IN " IN4),
    R(Q_PRODUCT_DOCS16, "SELECT product_id, doc FROM product_view WHERE product_id IN " IN16),
    R(Q_PRODUCTS_BY_ID,
      PRODUCT_LIST_COLS "WHERE product_id > ? ORDER BY product_id LIMIT ?"),
    R(Q_PRODUCTS_BY_PRICE,
      PRODUCT_LIST_COLS "WHERE price_cents > ? OR (price_cents = ? AND product_id > ?) "
                        "ORDER BY price_cents, product_id LIMIT ?"),
    R(Q_PRODUCTS_BY_SOLD,
      PRODUCT_LIST_COLS "WHERE units_sold < ? OR (units_sold = ? AND product_id > ?) "
                        "ORDER BY units_sold DESC, product_id LIMIT ?"),
    R(Q_PRODUCTS_CAT_BY_ID,
      PRODUCT_LIST_COLS "WHERE category_key = LOWER(?) AND product_id > ? ORDER BY product_id LIMIT ?"),
    R(Q_PRODUCTS_CAT_BY_PRICE,
      PRODUCT_LIST_COLS "WHERE category_key = LOWER(?) AND (price_cents > ? OR (price_cents = ? AND "
                        "product_id > ?)) ORDER BY price_cents, product_id LIMIT ?"),
    R(Q_PRODUCTS_CAT_BY_SOLD,
      PRODUCT_LIST_COLS "WHERE category_key = LOWER(?) AND (units_sold < ? OR (units_sold = ? AND "
                        "product_id > ?)) ORDER BY units_sold DESC, product_id LIMIT ?"),
    /* an order's customer too: a customer reads only its own (query.c, batch.c) */
    R(Q_ORDER_DOC, "SELECT doc, customer_id FROM order_summary_view WHERE order_id = ?"),
    R(Q_ORDER_DOCS4,
      "SELECT order_id, doc, customer_id FROM order_summary_view WHERE order_id IN " IN4),
    R(Q_ORDER_DOCS16,
      "SELECT order_id, doc, customer_id FROM order_summary_view WHERE order_id IN " IN16),
    R(Q_CUSTOMER_DOC, "SELECT doc FROM customer_view WHERE customer_id = ?"),
    R(Q_CUSTOMER_DOCS4, "SELECT customer_id, doc FROM customer_view WHERE customer_id IN " IN4),
    R(Q_CUSTOMER_DOCS16,
      "SELECT customer_id, doc FROM customer_view WHERE customer_id IN " IN16),
    R(Q_CUSTOMER_ORDERS, "SELECT doc, order_id FROM order_summary_view WHERE customer_id = ? "
                         "AND order_id < ? ORDER BY order_id DESC LIMIT ?"),
    R(Q_CUSTOMER_ORDERS_STATUS,
      "SELECT doc, order_id FROM order_summary_view WHERE customer_id = ? AND status = ? "
      "AND order_id < ? ORDER BY order_id DESC LIMIT ?"),
    R(Q_EVENTS_PAGE, EVENT_COLS "WHERE position > ? ORDER BY position LIMIT ?"),
    /*
     * A filtered page (events.c): the matching events in (after, head], head
     * the highest position with every one below visible. One aggregate's
     * events come from events_aggregate in version order (which is their
     * position order); types from events_type (sql/006). Ten type slots:
     * every event type; unused slots repeat a listed one.
     */
    R(Q_EVENTS_TYPES, EVENT_COLS "WHERE `type` IN " IN10 " AND position > ? AND position <= ? "
                      "ORDER BY position LIMIT ?"),
    R(Q_EVENTS_AGGREGATE, EVENT_COLS "WHERE aggregate_type = ? AND aggregate_id = ? AND `type` IN "
                          IN10 " AND position > ? AND position <= ? "
                          "ORDER BY aggregate_version LIMIT ?"),
    /* the top positions, to see commits still becoming visible (feed.c feed_head) */
    R(Q_EVENTS_TOP, "SELECT position FROM events ORDER BY position DESC LIMIT ?"),
};

#define S(id, text) [id] = {DB_WRITE, #id, text}

const struct catalog_entry catalog_session[S__COUNT] = {
    /* lock waits are bounded: row locks 5 s, metadata locks (DDL) 10 s */
    S(S_SESSION_SETUP, "SET time_zone = '+00:00', innodb_lock_wait_timeout = 5, "
                       "lock_wait_timeout = 10"),
    S(S_SESSION_ISOLATION, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"),
    S(S_TX_BEGIN, "START TRANSACTION"),
    S(S_TX_SAVEPOINT, "SAVEPOINT cqrsd_cmd"),
    S(S_TX_ROLLBACK_SAVEPOINT, "ROLLBACK TO SAVEPOINT cqrsd_cmd"),
    /* replicas: each commit's GTID (write connections), positions and waits (dbprobe.c) */
    S(S_TRACK_GTID_MARIADB, "SET SESSION session_track_system_variables = 'last_gtid'"),
    S(S_TRACK_GTID_MYSQL, "SET SESSION session_track_gtids = 'OWN_GTID'"),
    S(S_POSITION_MARIADB_PRIMARY, "SELECT @@GLOBAL.gtid_binlog_pos"),
    S(S_POSITION_MARIADB_REPLICA, "SELECT @@GLOBAL.gtid_slave_pos"),
    S(S_POSITION_MYSQL, "SELECT @@GLOBAL.gtid_executed"),
    S(S_REPLICA_STATUS, "SHOW REPLICA STATUS"),
    S(S_WAIT_MARIADB, "SELECT MASTER_GTID_WAIT(?, ? / 1000), @@GLOBAL.gtid_slave_pos"),
    S(S_WAIT_MYSQL, "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ? / 1000), @@GLOBAL.gtid_executed"),
};
