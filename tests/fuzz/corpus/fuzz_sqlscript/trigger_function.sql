SET NAMES utf8mb4;
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
DELIMITER ;
SELECT cqrs_line_json(1, 'a', 'b', 2, 3);
