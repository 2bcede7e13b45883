-- order_summary_view recomputed from orders, order_lines and customers.
-- Needs a large group_concat_max_len (an order has up to 100 lines).
SELECT o.id AS order_id, c.id AS customer_id, c.name AS customer_name,
       c.email AS customer_email, o.status, o.version,
       COALESCE(GROUP_CONCAT(cqrs_line_json(l.product_id, l.sku, l.name, l.quantity,
                                            l.unit_price_cents)
                             ORDER BY l.line_no SEPARATOR ','), '') AS items,
       COUNT(l.line_no) AS item_count,
       COALESCE(SUM(l.quantity), 0) AS total_quantity,
       COALESCE(SUM(l.quantity * l.unit_price_cents), 0) AS total_cents,
       o.created_at AS placed_at, o.updated_at AS last_updated
  FROM orders o
  JOIN customers c ON c.id = o.customer_id
  LEFT JOIN order_lines l ON l.order_id = o.id
 GROUP BY o.id, c.id, c.name, c.email, o.status, o.version, o.created_at, o.updated_at
 ORDER BY o.id
