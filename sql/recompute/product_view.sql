-- product_view as the write tables say it must be: one row per live
-- product, columns in the order of the view table (doc is derived from
-- them). Used by `cqrsd verify-views`, `cqrsd rebuild-views` and the tests.
SELECT p.id AS product_id, p.sku, p.name, p.description, p.category_id,
       c.name AS category, p.price_cents, p.stock,
       COALESCE(s.units_sold, 0) AS units_sold,
       COALESCE(s.revenue_cents, 0) AS revenue_cents,
       COALESCE(s.order_count, 0) AS order_count,
       p.version, p.created_at, p.updated_at AS last_updated
  FROM products p
  JOIN categories c ON c.id = p.category_id
  LEFT JOIN (SELECT l.product_id, SUM(l.quantity) AS units_sold,
                    SUM(l.quantity * l.unit_price_cents) AS revenue_cents,
                    COUNT(*) AS order_count
               FROM order_lines l JOIN orders o ON o.id = l.order_id
              WHERE o.status <> 'cancelled'
              GROUP BY l.product_id) s ON s.product_id = p.id
 WHERE p.deleted_at IS NULL
 ORDER BY p.id
