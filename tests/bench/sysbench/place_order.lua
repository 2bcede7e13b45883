-- place_order.lua - the database-only side of POST /commands PlaceOrder: the
-- transaction of src/cmd_orders.c place_order() and src/events.c, statement
-- for statement, on the writer account in READ COMMITTED, with the same
-- random choice as tests/bench/wrk/place_order.lua (a seeded customer, 1-3
-- distinct seeded products, quantity 1):
--   START TRANSACTION
--   SELECT id FROM customers WHERE id = ?
--   SELECT ... FROM products WHERE id IN (4 ids, padded) ORDER BY id FOR UPDATE
--   UPDATE products SET stock = stock + ? ... WHERE id = ?   (1 product), or
--   UPDATE products SET stock = stock + CASE id ... END ... WHERE id IN (4 ids)
--   INSERT INTO orders ...                  (its id by mysql_stmt_insert_id)
--   INSERT INTO order_lines ... VALUES (…), (…)   (one statement, in item order)
--   UPDATE event_head SET position = LAST_INSERT_ID(position + ?) ...
--   INSERT INTO events ... 'OrderPlaced' ...
--   COMMIT
-- With PLACE_ORDER_POSITIONS=auto_increment in the environment, the event goes
-- instead to events_unordered (tests/bench/run.sh makes it: events with an
-- AUTO_INCREMENT position) and event_head is not touched: the same
-- transaction without the gap-free ordering guarantee, to measure its cost.
-- The triggers fire as they do for the daemon. sysbench cannot read the rows
-- of a prepared statement, so the price, sku and name written to the order
-- lines come from a cache read at thread start (the server work is the same).
local B = require("bench_sb")
local unordered = os.getenv("PLACE_ORDER_POSITIONS") == "auto_increment"

function thread_init()
   drv, con = B.connect()
   products = {}
   for i, r in ipairs(B.rows(con, "SELECT id, price_cents, sku, name FROM products " ..
                                  "WHERE deleted_at IS NULL ORDER BY id")) do
      products[i] = {id = tonumber(r[1]), price = tonumber(r[2]), sku = r[3], name = r[4]}
   end
   assert(#products >= 3, "fewer than 3 products")
   customers = B.ids(con, "SELECT id FROM customers ORDER BY id")
   s_customer = B.prepare(con, B.SQL.CUSTOMER_LOCK, "i")
   s_lock = B.prepare(con, B.SQL.ORDER_PRODUCTS4, "i", "i", "i", "i")
   s_move = B.prepare(con, B.SQL.PRODUCT_STOCK_MOVE, "i", 32, "i")
   s_move4 = B.prepare(con, B.SQL.PRODUCT_STOCK_MOVE4, "i", "i", "i", "i", "i", "i", "i", "i",
                       32, "i", "i", "i", "i")
   s_order = B.prepare(con, B.SQL.ORDER_INSERT, "i", 32, 32)
   local line = {"i", "i", "i", "i", "i", 64, 800}
   s_lines = {}
   for rows, sql in ipairs({B.SQL.ORDER_LINE_INSERT, B.SQL.ORDER_LINE_INSERT2,
                            B.SQL.ORDER_LINE_INSERT3}) do
      local types = {}
      for _ = 1, rows do
         for _, t in ipairs(line) do
            types[#types + 1] = t
         end
      end
      s_lines[rows] = B.prepare(con, sql, unpack(types))
   end
   if unordered then
      s_event = B.prepare(con, B.SQL.EVENT_INSERT_UNORDERED, 64, 16, "i", "i", 8192, 128, 32)
   else
      s_head = B.prepare(con, B.SQL.EVENT_HEAD, "i")
      s_event = B.prepare(con, B.SQL.EVENT_INSERT, "i", 64, 16, "i", "i", 8192, 128, 32)
   end
end

B.rollback_on_restart(function() return con end)

local function by_id(a, b)
   return a.id < b.id
end

function event()
   local rand = sysbench.rand.uniform
   local customer = customers[rand(1, #customers)]
   local n = rand(1, 3)
   local lines, picked = {}, {}
   while #lines < n do
      local p = products[rand(1, #products)]
      if not picked[p.id] then
         picked[p.id] = true
         lines[#lines + 1] = p
      end
   end
   local sorted = {}
   for i, p in ipairs(lines) do
      sorted[i] = p
   end
   table.sort(sorted, by_id)
   local now = B.now()

   local function id_at(i) -- padded with the last id, as the daemon pads
      return sorted[math.min(i, n)].id
   end
   con:query("START TRANSACTION")
   B.run(s_customer, customer)
   B.run(s_lock, id_at(1), id_at(2), id_at(3), id_at(4))
   if n == 1 then
      B.run(s_move, -1, now, sorted[1].id)
   else
      B.run(s_move4, id_at(1), -1, id_at(2), -1, id_at(3), -1, id_at(4), -1, now,
            id_at(1), id_at(2), id_at(3), id_at(4))
   end
   B.run(s_order, customer, now, now)
   local order_id = B.insert_id(s_order)
   local items, total, args = {}, 0, {}
   for i, p in ipairs(lines) do
      for _, v in ipairs({order_id, i, p.id, 1, p.price, p.sku, p.name}) do
         args[#args + 1] = v
      end
      total = total + p.price
      items[i] = string.format('{"product_id":%d,"quantity":1,"unit_price_cents":%d}', p.id,
                               p.price)
   end
   B.run(s_lines[n], unpack(args))
   local data = string.format('{"customer_id":%d,"items":[%s],"total_cents":%d}', customer,
                              table.concat(items, ","), total)
   if unordered then
      B.run(s_event, "OrderPlaced", "order", order_id, 1, data, B.uuid(), now)
   else
      B.run(s_head, 1)
      local position = B.insert_id(s_head)
      B.run(s_event, position, "OrderPlaced", "order", order_id, 1, data, B.uuid(), now)
   end
   con:query("COMMIT")
end

function thread_done()
   con:disconnect()
end
