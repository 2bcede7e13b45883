-- customer_view recomputed from customers, orders and order_lines. Figures
-- count orders that are not cancelled; last_updated is the latest of the
-- customer's own change, any order placed, and any cancellation.
SELECT c.id AS customer_id, c.name, c.email,
       COALESCE(a.order_count, 0) AS order_count,
       COALESCE(a.spent_cents, 0) AS spent_cents,
       a.last_order_at,
       c.created_at AS registered_at,
       GREATEST(c.updated_at, COALESCE(t.last_placed, c.updated_at),
                COALESCE(t.last_cancelled, c.updated_at)) AS last_updated
  FROM customers c
  LEFT JOIN (SELECT o.customer_id, COUNT(*) AS order_count,
                    SUM((SELECT COALESCE(SUM(l.quantity * l.unit_price_cents), 0)
                           FROM order_lines l WHERE l.order_id = o.id)) AS spent_cents,
                    MAX(o.created_at) AS last_order_at
               FROM orders o WHERE o.status <> 'cancelled'
              GROUP BY o.customer_id) a ON a.customer_id = c.id
  LEFT JOIN (SELECT customer_id, MAX(created_at) AS last_placed,
                    MAX(cancelled_at) AS last_cancelled
               FROM orders GROUP BY customer_id) t ON t.customer_id = c.id
 ORDER BY c.id
