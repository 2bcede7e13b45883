-- 002_read_model.sql - the read model (views) and the triggers that keep it.
--
-- Each view row keeps, next to its columns, `doc`: the ready JSON document
-- that its GET /queries route answers. It is a STORED generated column, so it
-- is derived from the row's own columns by one definition (never out of step
-- with them), is written once per change, and a GET sends stored bytes. It
-- is built with CONCAT and JSON_QUOTE, which give the same text on MySQL 8
-- and MariaDB (JSON_OBJECT would not: MySQL sorts its keys).
--
-- The triggers run inside the command's transaction, with their definer's
-- rights. Nothing here relies on ON DELETE CASCADE (cascaded rows fire no
-- triggers): every change of a write table has its own trigger.

CREATE TABLE product_view (
    product_id     BIGINT NOT NULL,
    sku            VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    name           VARCHAR(200) NOT NULL,
    description    VARCHAR(2000) NOT NULL,
    category_id    BIGINT NOT NULL,
    category       VARCHAR(100) NOT NULL,
    category_key   VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
                   GENERATED ALWAYS AS (LOWER(category)) STORED,
    price_cents    BIGINT NOT NULL,
    stock          BIGINT NOT NULL,
    units_sold     BIGINT NOT NULL,
    revenue_cents  BIGINT NOT NULL,
    order_count    BIGINT NOT NULL,
    version        BIGINT NOT NULL,
    created_at     DATETIME(3) NOT NULL,
    last_updated   DATETIME(3) NOT NULL,
    doc            TEXT GENERATED ALWAYS AS (CONCAT(
        '{"product_id":', product_id,
        ',"sku":', JSON_QUOTE(sku),
        ',"name":', JSON_QUOTE(name),
        ',"description":', JSON_QUOTE(description),
        ',"category":', JSON_QUOTE(category),
        ',"price_cents":', price_cents,
        ',"stock":', stock,
        ',"units_sold":', units_sold,
        ',"revenue_cents":', revenue_cents,
        ',"order_count":', order_count,
        ',"version":', version,
        ',"created_at":"', REPLACE(CAST(created_at AS CHAR), ' ', 'T'),
        'Z","last_updated":"', REPLACE(CAST(last_updated AS CHAR), ' ', 'T'), 'Z"}')) STORED,
    PRIMARY KEY (product_id),
    KEY product_view_category (category_key, product_id),
    KEY product_view_category_price (category_key, price_cents, product_id),
    KEY product_view_category_sold (category_key, units_sold DESC, product_id),
    KEY product_view_price (price_cents, product_id),
    KEY product_view_sold (units_sold DESC, product_id),
    KEY product_view_category_id (category_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- `items` holds the order's lines as JSON objects joined by commas (the
-- document adds the brackets), appended by the order_lines trigger.
CREATE TABLE order_summary_view (
    order_id        BIGINT NOT NULL,
    customer_id     BIGINT NOT NULL,
    customer_name   VARCHAR(200) NOT NULL,
    customer_email  VARCHAR(254) NOT NULL,
    status          VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    version         BIGINT NOT NULL,
    items           MEDIUMTEXT NOT NULL,
    item_count      BIGINT NOT NULL,
    total_quantity  BIGINT NOT NULL,
    total_cents     BIGINT NOT NULL,
    placed_at       DATETIME(3) NOT NULL,
    last_updated    DATETIME(3) NOT NULL,
    doc             MEDIUMTEXT GENERATED ALWAYS AS (CONCAT(
        '{"order_id":', order_id,
        ',"status":', JSON_QUOTE(status),
        ',"version":', version,
        ',"customer":{"customer_id":', customer_id,
        ',"name":', JSON_QUOTE(customer_name),
        ',"email":', JSON_QUOTE(customer_email),
        '},"items":[', items,
        '],"item_count":', item_count,
        ',"total_quantity":', total_quantity,
        ',"total_cents":', total_cents,
        ',"placed_at":"', REPLACE(CAST(placed_at AS CHAR), ' ', 'T'),
        'Z","last_updated":"', REPLACE(CAST(last_updated AS CHAR), ' ', 'T'), 'Z"}')) STORED,
    PRIMARY KEY (order_id),
    KEY order_summary_view_customer (customer_id, order_id),
    KEY order_summary_view_customer_status (customer_id, status, order_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE customer_view (
    customer_id    BIGINT NOT NULL,
    name           VARCHAR(200) NOT NULL,
    email          VARCHAR(254) NOT NULL,
    order_count    BIGINT NOT NULL,
    spent_cents    BIGINT NOT NULL,
    last_order_at  DATETIME(3) NULL,
    registered_at  DATETIME(3) NOT NULL,
    last_updated   DATETIME(3) NOT NULL,
    doc            TEXT GENERATED ALWAYS AS (CONCAT(
        '{"customer_id":', customer_id,
        ',"name":', JSON_QUOTE(name),
        ',"email":', JSON_QUOTE(email),
        ',"order_count":', order_count,
        ',"spent_cents":', spent_cents,
        ',"last_order_at":', IF(last_order_at IS NULL, 'null',
            CONCAT('"', REPLACE(CAST(last_order_at AS CHAR), ' ', 'T'), 'Z"')),
        ',"registered_at":"', REPLACE(CAST(registered_at AS CHAR), ' ', 'T'),
        'Z","last_updated":"', REPLACE(CAST(last_updated AS CHAR), ' ', 'T'), 'Z"}')) STORED,
    PRIMARY KEY (customer_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

DELIMITER $$

-- One order line as its JSON object in GET /queries/orders/{id}.
DROP FUNCTION IF EXISTS cqrs_line_json$$
CREATE FUNCTION cqrs_line_json(p_product_id BIGINT, p_sku VARCHAR(64), p_name VARCHAR(200),
                               p_quantity BIGINT, p_unit_price BIGINT)
    RETURNS VARCHAR(1200) CHARACTER SET utf8mb4
    DETERMINISTIC NO SQL
BEGIN
    RETURN CONCAT('{"product_id":', p_product_id,
                  ',"sku":', JSON_QUOTE(p_sku),
                  ',"name":', JSON_QUOTE(p_name),
                  ',"quantity":', p_quantity,
                  ',"unit_price_cents":', p_unit_price,
                  ',"line_total_cents":', p_quantity * p_unit_price, '}');
END$$

-- Full recomputations, for the rare changes that no command makes (an order
-- line updated or deleted by hand): they set the figures from the write
-- tables instead of adjusting them.
DROP PROCEDURE IF EXISTS cqrs_refresh_product_sales$$
CREATE PROCEDURE cqrs_refresh_product_sales(IN p_id BIGINT)
BEGIN
    UPDATE product_view pv
       SET pv.units_sold = (SELECT COALESCE(SUM(l.quantity), 0)
                              FROM order_lines l JOIN orders o ON o.id = l.order_id
                             WHERE l.product_id = p_id AND o.status <> 'cancelled'),
           pv.revenue_cents = (SELECT COALESCE(SUM(l.quantity * l.unit_price_cents), 0)
                                 FROM order_lines l JOIN orders o ON o.id = l.order_id
                                WHERE l.product_id = p_id AND o.status <> 'cancelled'),
           pv.order_count = (SELECT COUNT(*)
                               FROM order_lines l JOIN orders o ON o.id = l.order_id
                              WHERE l.product_id = p_id AND o.status <> 'cancelled')
     WHERE pv.product_id = p_id;
END$$

DROP PROCEDURE IF EXISTS cqrs_refresh_customer$$
CREATE PROCEDURE cqrs_refresh_customer(IN p_id BIGINT)
BEGIN
    UPDATE customer_view cv
       SET cv.order_count = (SELECT COUNT(*) FROM orders o
                              WHERE o.customer_id = p_id AND o.status <> 'cancelled'),
           cv.spent_cents = (SELECT COALESCE(SUM(l.quantity * l.unit_price_cents), 0)
                               FROM orders o JOIN order_lines l ON l.order_id = o.id
                              WHERE o.customer_id = p_id AND o.status <> 'cancelled'),
           cv.last_order_at = (SELECT MAX(o.created_at) FROM orders o
                                WHERE o.customer_id = p_id AND o.status <> 'cancelled')
     WHERE cv.customer_id = p_id;
END$$

DROP PROCEDURE IF EXISTS cqrs_refresh_order$$
CREATE PROCEDURE cqrs_refresh_order(IN p_id BIGINT)
BEGIN
    DECLARE done INT DEFAULT 0;
    DECLARE v_items MEDIUMTEXT DEFAULT '';
    DECLARE v_pid, v_qty, v_price BIGINT;
    DECLARE v_sku VARCHAR(64);
    DECLARE v_name VARCHAR(200);
    DECLARE cur CURSOR FOR
        SELECT product_id, sku, name, quantity, unit_price_cents
          FROM order_lines WHERE order_id = p_id ORDER BY line_no;
    DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = 1;
    OPEN cur;
    read_loop: LOOP
        FETCH cur INTO v_pid, v_sku, v_name, v_qty, v_price;
        IF done = 1 THEN
            LEAVE read_loop;
        END IF;
        SET v_items = CONCAT_WS(',', NULLIF(v_items, ''),
                                cqrs_line_json(v_pid, v_sku, v_name, v_qty, v_price));
    END LOOP;
    CLOSE cur;
    UPDATE order_summary_view osv
       SET osv.items = v_items,
           osv.item_count = (SELECT COUNT(*) FROM order_lines WHERE order_id = p_id),
           osv.total_quantity = (SELECT COALESCE(SUM(quantity), 0)
                                   FROM order_lines WHERE order_id = p_id),
           osv.total_cents = (SELECT COALESCE(SUM(quantity * unit_price_cents), 0)
                                FROM order_lines WHERE order_id = p_id)
     WHERE osv.order_id = p_id;
END$$

-- categories ------------------------------------------------------------

DROP TRIGGER IF EXISTS categories_au$$
CREATE TRIGGER categories_au AFTER UPDATE ON categories FOR EACH ROW
BEGIN
    IF NOT (NEW.name <=> OLD.name) OR NEW.id <> OLD.id THEN
        UPDATE product_view SET category_id = NEW.id, category = NEW.name
         WHERE category_id = OLD.id;
    END IF;
END$$

-- products --------------------------------------------------------------

DROP TRIGGER IF EXISTS products_ai$$
CREATE TRIGGER products_ai AFTER INSERT ON products FOR EACH ROW
BEGIN
    IF NEW.deleted_at IS NULL THEN
        INSERT INTO product_view (product_id, sku, name, description, category_id, category,
                                  price_cents, stock, units_sold, revenue_cents, order_count,
                                  version, created_at, last_updated)
        SELECT NEW.id, NEW.sku, NEW.name, NEW.description, c.id, c.name, NEW.price_cents,
               NEW.stock, 0, 0, 0, NEW.version, NEW.created_at, NEW.updated_at
          FROM categories c WHERE c.id = NEW.category_id;
    END IF;
END$$

-- products_au reads categories only when the category changed: a join on
-- every update would lock the category row for every stock move. (No
-- comments inside trigger bodies: the mysql client strips them, and the
-- stored body would then differ from this file.)
DROP TRIGGER IF EXISTS products_au$$
CREATE TRIGGER products_au AFTER UPDATE ON products FOR EACH ROW
BEGIN
    IF NEW.deleted_at IS NOT NULL OR NEW.id <> OLD.id THEN
        DELETE FROM product_view WHERE product_id = OLD.id;
    END IF;
    IF NEW.deleted_at IS NULL THEN
        IF NEW.id = OLD.id AND OLD.deleted_at IS NULL THEN
            UPDATE product_view
               SET sku = NEW.sku, name = NEW.name, description = NEW.description,
                   price_cents = NEW.price_cents, stock = NEW.stock,
                   version = NEW.version, last_updated = NEW.updated_at
             WHERE product_id = NEW.id;
            IF NEW.category_id <> OLD.category_id THEN
                UPDATE product_view
                   SET category_id = NEW.category_id,
                       category = (SELECT c.name FROM categories c WHERE c.id = NEW.category_id)
                 WHERE product_id = NEW.id;
            END IF;
        ELSE
            INSERT INTO product_view (product_id, sku, name, description, category_id, category,
                                      price_cents, stock, units_sold, revenue_cents, order_count,
                                      version, created_at, last_updated)
            SELECT NEW.id, NEW.sku, NEW.name, NEW.description, c.id, c.name, NEW.price_cents,
                   NEW.stock, 0, 0, 0, NEW.version, NEW.created_at, NEW.updated_at
              FROM categories c WHERE c.id = NEW.category_id;
            CALL cqrs_refresh_product_sales(NEW.id);
        END IF;
    END IF;
END$$

DROP TRIGGER IF EXISTS products_ad$$
CREATE TRIGGER products_ad AFTER DELETE ON products FOR EACH ROW
BEGIN
    DELETE FROM product_view WHERE product_id = OLD.id;
END$$

-- customers -------------------------------------------------------------

DROP TRIGGER IF EXISTS customers_ai$$
CREATE TRIGGER customers_ai AFTER INSERT ON customers FOR EACH ROW
BEGIN
    INSERT INTO customer_view (customer_id, name, email, order_count, spent_cents,
                               last_order_at, registered_at, last_updated)
    VALUES (NEW.id, NEW.name, NEW.email, 0, 0, NULL, NEW.created_at, NEW.updated_at);
END$$

DROP TRIGGER IF EXISTS customers_au$$
CREATE TRIGGER customers_au AFTER UPDATE ON customers FOR EACH ROW
BEGIN
    UPDATE customer_view
       SET customer_id = NEW.id, name = NEW.name, email = NEW.email,
           registered_at = NEW.created_at, last_updated = GREATEST(last_updated, NEW.updated_at)
     WHERE customer_id = OLD.id;
    UPDATE order_summary_view
       SET customer_id = NEW.id, customer_name = NEW.name, customer_email = NEW.email
     WHERE customer_id = OLD.id;
END$$

DROP TRIGGER IF EXISTS customers_ad$$
CREATE TRIGGER customers_ad AFTER DELETE ON customers FOR EACH ROW
BEGIN
    DELETE FROM customer_view WHERE customer_id = OLD.id;
END$$

-- orders ----------------------------------------------------------------

DROP TRIGGER IF EXISTS orders_ai$$
CREATE TRIGGER orders_ai AFTER INSERT ON orders FOR EACH ROW
BEGIN
    INSERT INTO order_summary_view (order_id, customer_id, customer_name, customer_email,
                                    status, version, items, item_count, total_quantity,
                                    total_cents, placed_at, last_updated)
    SELECT NEW.id, c.id, c.name, c.email, NEW.status, NEW.version, '', 0, 0, 0,
           NEW.created_at, NEW.updated_at
      FROM customers c WHERE c.id = NEW.customer_id;
    IF NEW.status <> 'cancelled' THEN
        UPDATE customer_view
           SET order_count = order_count + 1,
               last_order_at = GREATEST(COALESCE(last_order_at, NEW.created_at), NEW.created_at),
               last_updated = GREATEST(last_updated, NEW.created_at)
         WHERE customer_id = NEW.customer_id;
    END IF;
END$$

DROP TRIGGER IF EXISTS orders_au$$
CREATE TRIGGER orders_au AFTER UPDATE ON orders FOR EACH ROW
BEGIN
    UPDATE order_summary_view
       SET status = NEW.status, version = NEW.version, last_updated = NEW.updated_at
     WHERE order_id = OLD.id;
    IF OLD.status <> 'cancelled' AND NEW.status = 'cancelled' THEN
        UPDATE product_view pv JOIN order_lines l ON l.product_id = pv.product_id
           SET pv.units_sold = pv.units_sold - l.quantity,
               pv.revenue_cents = pv.revenue_cents - l.quantity * l.unit_price_cents,
               pv.order_count = pv.order_count - 1
         WHERE l.order_id = NEW.id;
        UPDATE customer_view
           SET order_count = order_count - 1,
               spent_cents = spent_cents - (SELECT COALESCE(SUM(quantity * unit_price_cents), 0)
                                              FROM order_lines WHERE order_id = NEW.id),
               last_order_at = (SELECT MAX(created_at) FROM orders
                                 WHERE customer_id = NEW.customer_id AND status <> 'cancelled'),
               last_updated = GREATEST(last_updated, COALESCE(NEW.cancelled_at, NEW.updated_at))
         WHERE customer_id = NEW.customer_id;
    ELSEIF OLD.status = 'cancelled' AND NEW.status <> 'cancelled' THEN
        UPDATE product_view pv JOIN order_lines l ON l.product_id = pv.product_id
           SET pv.units_sold = pv.units_sold + l.quantity,
               pv.revenue_cents = pv.revenue_cents + l.quantity * l.unit_price_cents,
               pv.order_count = pv.order_count + 1
         WHERE l.order_id = NEW.id;
        CALL cqrs_refresh_customer(NEW.customer_id);
    END IF;
    IF NEW.customer_id <> OLD.customer_id THEN
        CALL cqrs_refresh_customer(OLD.customer_id);
        CALL cqrs_refresh_customer(NEW.customer_id);
    END IF;
END$$

DROP TRIGGER IF EXISTS orders_ad$$
CREATE TRIGGER orders_ad AFTER DELETE ON orders FOR EACH ROW
BEGIN
    DELETE FROM order_summary_view WHERE order_id = OLD.id;
    CALL cqrs_refresh_customer(OLD.customer_id);
END$$

-- order_lines -----------------------------------------------------------

DROP TRIGGER IF EXISTS order_lines_ai$$
CREATE TRIGGER order_lines_ai AFTER INSERT ON order_lines FOR EACH ROW
BEGIN
    DECLARE v_status VARCHAR(16);
    DECLARE v_customer BIGINT;
    SELECT status, customer_id INTO v_status, v_customer FROM orders WHERE id = NEW.order_id;
    UPDATE order_summary_view
       SET items = CONCAT_WS(',', NULLIF(items, ''),
                             cqrs_line_json(NEW.product_id, NEW.sku, NEW.name, NEW.quantity,
                                            NEW.unit_price_cents)),
           item_count = item_count + 1,
           total_quantity = total_quantity + NEW.quantity,
           total_cents = total_cents + NEW.quantity * NEW.unit_price_cents
     WHERE order_id = NEW.order_id;
    IF v_status <> 'cancelled' THEN
        UPDATE product_view
           SET units_sold = units_sold + NEW.quantity,
               revenue_cents = revenue_cents + NEW.quantity * NEW.unit_price_cents,
               order_count = order_count + 1
         WHERE product_id = NEW.product_id;
        UPDATE customer_view
           SET spent_cents = spent_cents + NEW.quantity * NEW.unit_price_cents
         WHERE customer_id = v_customer;
    END IF;
END$$

DROP TRIGGER IF EXISTS order_lines_au$$
CREATE TRIGGER order_lines_au AFTER UPDATE ON order_lines FOR EACH ROW
BEGIN
    DECLARE v_customer BIGINT;
    CALL cqrs_refresh_order(OLD.order_id);
    CALL cqrs_refresh_product_sales(OLD.product_id);
    SELECT customer_id INTO v_customer FROM orders WHERE id = OLD.order_id;
    CALL cqrs_refresh_customer(v_customer);
    IF NEW.order_id <> OLD.order_id THEN
        CALL cqrs_refresh_order(NEW.order_id);
        SELECT customer_id INTO v_customer FROM orders WHERE id = NEW.order_id;
        CALL cqrs_refresh_customer(v_customer);
    END IF;
    IF NEW.product_id <> OLD.product_id THEN
        CALL cqrs_refresh_product_sales(NEW.product_id);
    END IF;
END$$

DROP TRIGGER IF EXISTS order_lines_ad$$
CREATE TRIGGER order_lines_ad AFTER DELETE ON order_lines FOR EACH ROW
BEGIN
    DECLARE v_customer BIGINT;
    CALL cqrs_refresh_order(OLD.order_id);
    CALL cqrs_refresh_product_sales(OLD.product_id);
    SELECT customer_id INTO v_customer FROM orders WHERE id = OLD.order_id;
    CALL cqrs_refresh_customer(v_customer);
END$$

DELIMITER ;
