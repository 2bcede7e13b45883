-- 004_event_data_text.sql - events.data keeps the bytes the daemon wrote.
--
-- 001 declared it JSON. MariaDB keeps a JSON column as text (LONGTEXT,
-- utf8mb4_bin, CHECK json_valid), but MySQL 8 stores it in a binary form and
-- gives back its own serialization: keys sorted by length, a space after
-- every ':' and ',' ({"sku": "A", "stock": 1, "product_id": 7}), so the
-- event feed and stream differed between the two servers. A text column with
-- the same check answers the written bytes on both.
--
-- On MariaDB the column keeps its type (its check becomes the named one); on MySQL
-- this copies the table, and writes to `events` wait meanwhile: on a large
-- event store run it in a quiet moment. Rows written before it keep MySQL's
-- serialization (the same JSON value).
ALTER TABLE events
    MODIFY data LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    ADD CONSTRAINT events_data_json CHECK (JSON_VALID(data));
