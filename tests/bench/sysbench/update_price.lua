-- update_price.lua - the database-only side of POST /commands
-- UpdateProductPrice (src/cmd_products.c update_price() and src/events.c):
--   START TRANSACTION
--   SELECT ... FROM products WHERE id = ? FOR UPDATE
--   UPDATE products SET price_cents = ?, version = version + 1, updated_at = ? ...
--   UPDATE event_head SET position = LAST_INSERT_ID(position + ?) ...
--   INSERT INTO events ... 'ProductPriceUpdated' ...
--   COMMIT
-- The old price and version in the event come from a cache read at thread
-- start (sysbench cannot read the rows of a prepared statement); the values
-- differ, the server work does not.
local B = require("bench_sb")

function thread_init()
   drv, con = B.connect()
   products = {}
   for i, r in ipairs(B.rows(con, "SELECT id, price_cents, version FROM products " ..
                                  "WHERE deleted_at IS NULL ORDER BY id")) do
      products[i] = {id = tonumber(r[1]), price = tonumber(r[2]), version = tonumber(r[3])}
   end
   s_lock = B.prepare(con, B.SQL.PRODUCT_LOCK, "i")
   s_price = B.prepare(con, B.SQL.PRODUCT_PRICE, "i", 32, "i")
   s_head = B.prepare(con, B.SQL.EVENT_HEAD, "i")
   s_event = B.prepare(con, B.SQL.EVENT_INSERT, "i", 64, 16, "i", "i", 8192, 128, 32)
end

B.rollback_on_restart(function() return con end)

function event()
   local rand = sysbench.rand.uniform
   local p = products[rand(1, #products)]
   local price = rand(100, 100000)
   local now = B.now()

   con:query("START TRANSACTION")
   B.run(s_lock, p.id)
   B.run(s_price, price, now, p.id)
   p.version = p.version + 1
   B.run(s_head, 1)
   local position = B.insert_id(s_head)
   B.run(s_event, position, "ProductPriceUpdated", "product", p.id, p.version,
         string.format('{"old_price_cents":%d,"new_price_cents":%d}', p.price, price),
         B.uuid(), now)
   con:query("COMMIT")
   p.price = price
end

function thread_done()
   con:disconnect()
end
