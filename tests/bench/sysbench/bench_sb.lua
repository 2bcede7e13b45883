-- bench_sb.lua - shared by the sysbench scripts of `make bench`
-- (tests/bench/run.sh puts this directory on LUA_PATH).
--
-- The database-only side of the benchmark runs exactly the statements the
-- daemon runs (the SQL text of src/catalog.c), as server-side prepared
-- statements over TCP, on the daemon's accounts and with its session settings.
local ffi = require("ffi")

ffi.cdef [[
/* sysbench 1.0's db_stmt_t (src/db_driver.h), to reach the MYSQL_STMT */
typedef struct {
   void *connection;
   char *query;
   void *bound_param;
   unsigned int bound_param_len;
   void *bound_res;
   void *bound_res_len;
   char emulated;
   int counter;
   void *ptr;
} cqrsd_bench_stmt;
unsigned long long mysql_stmt_insert_id(void *stmt);
typedef struct { long tv_sec; long tv_nsec; } cqrsd_bench_timespec;
int clock_gettime(int clk, cqrsd_bench_timespec *ts);
]]

local B = {}

B.INT64_MAX = 9223372036854775807LL

-- The SQL of src/catalog.c, byte for byte.
B.SQL = {
   PRODUCT_DOC = "SELECT doc FROM product_view WHERE product_id = ?",
   PRODUCTS_CAT_BY_SOLD = "SELECT doc, product_id, price_cents, units_sold FROM product_view " ..
      "WHERE category_key = LOWER(?) AND (units_sold < ? OR (units_sold = ? AND " ..
      "product_id > ?)) ORDER BY units_sold DESC, product_id LIMIT ?",
   CUSTOMER_LOCK = "SELECT id FROM customers WHERE id = ? FOR UPDATE",
   PRODUCT_LOCK = "SELECT version, deleted_at IS NULL, price_cents, stock, sku, name, " ..
      "description, category_id FROM products WHERE id = ? FOR UPDATE",
   PRODUCT_STOCK_MOVE = "UPDATE products SET stock = stock + ?, updated_at = ? WHERE id = ?",
   PRODUCT_STOCK_MOVE4 = "UPDATE products SET stock = stock + CASE id WHEN ? THEN ? " ..
      "WHEN ? THEN ? WHEN ? THEN ? WHEN ? THEN ? END, updated_at = ? " ..
      "WHERE id IN (?, ?, ?, ?)",
   ORDER_PRODUCTS4 = "SELECT id, deleted_at IS NULL, price_cents, stock, sku, name " ..
      "FROM products WHERE id IN (?, ?, ?, ?) ORDER BY id FOR UPDATE",
   PRODUCT_PRICE = "UPDATE products SET price_cents = ?, version = version + 1, " ..
      "updated_at = ? WHERE id = ?",
   ORDER_INSERT = "INSERT INTO orders (customer_id, status, version, cancel_reason, " ..
      "created_at, updated_at, cancelled_at) " ..
      "VALUES (?, 'placed', 1, NULL, ?, ?, NULL)",
   ORDER_LINE_INSERT = "INSERT INTO order_lines (order_id, line_no, product_id, quantity, " ..
      "unit_price_cents, sku, name) VALUES (?, ?, ?, ?, ?, ?, ?)",
   ORDER_LINE_INSERT2 = "INSERT INTO order_lines (order_id, line_no, product_id, quantity, " ..
      "unit_price_cents, sku, name) VALUES (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?)",
   ORDER_LINE_INSERT3 = "INSERT INTO order_lines (order_id, line_no, product_id, quantity, " ..
      "unit_price_cents, sku, name) VALUES (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?), " ..
      "(?, ?, ?, ?, ?, ?, ?)",
   EVENT_HEAD = "UPDATE event_head SET position = LAST_INSERT_ID(position + ?) WHERE id = 1",
   EVENT_INSERT = "INSERT INTO events (position, `type`, aggregate_type, aggregate_id, " ..
      "aggregate_version, data, command_id, occurred_at) " ..
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
   -- not the daemon's: the baseline without gap-free positions (place_order.lua)
   EVENT_INSERT_UNORDERED = "INSERT INTO events_unordered (`type`, aggregate_type, " ..
      "aggregate_id, aggregate_version, data, command_id, occurred_at) " ..
      "VALUES (?, ?, ?, ?, ?, ?, ?)",
}

-- A connection with the daemon's session settings (src/db.c connect_dsn).
function B.connect()
   local drv = sysbench.sql.driver()
   local con = drv:connect()
   con:query("SET time_zone = '+00:00', innodb_lock_wait_timeout = 5, lock_wait_timeout = 10")
   con:query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
   return drv, con
end

-- Rows of a plain query, as arrays of strings (setup only, not measured).
function B.rows(con, sql)
   local out = {}
   local rs = con:query(sql)
   for i = 1, rs.nrows do
      out[i] = rs:fetch_row()
   end
   rs:free()
   return out
end

function B.ids(con, sql)
   local ids = {}
   for i, r in ipairs(B.rows(con, sql)) do
      ids[i] = tonumber(r[1])
   end
   assert(#ids > 0, "no rows for " .. sql)
   return ids
end

-- A server-side prepared statement; each parameter type is "i" (BIGINT) or
-- the maximum length of a VARCHAR.
function B.prepare(con, sql, ...)
   local stmt = con:prepare(sql)
   local params = {}
   for i, t in ipairs({...}) do
      if t == "i" then
         params[i] = stmt:bind_create(sysbench.sql.type.BIGINT)
      else
         params[i] = stmt:bind_create(sysbench.sql.type.VARCHAR, t)
      end
   end
   if #params > 0 then
      stmt:bind_param(unpack(params))
   end
   local raw = ffi.cast("cqrsd_bench_stmt *", stmt)
   assert(raw.emulated == 0 and raw.ptr ~= nil, "not a server-side prepared statement: " .. sql)
   return {stmt = stmt, p = params, raw = raw}
end

-- Bind the arguments in order and execute (the result is stored and dropped).
function B.run(s, ...)
   local n = select("#", ...)
   for i = 1, n do
      s.p[i]:set((select(i, ...)))
   end
   return s.stmt:execute()
end

-- What mysql_stmt_insert_id() says after the last execute, as the daemon reads it.
function B.insert_id(s)
   return ffi.C.mysql_stmt_insert_id(s.raw.ptr)
end

local ts = ffi.new("cqrsd_bench_timespec")

-- The daemon's timestamp parameter: "YYYY-MM-DD HH:MM:SS.mmm" (UTC).
function B.now()
   ffi.C.clock_gettime(0, ts)
   local sec = tonumber(ts.tv_sec)
   return os.date("!%Y-%m-%d %H:%M:%S", sec) ..
      string.format(".%03d", math.floor(tonumber(ts.tv_nsec) / 1000000))
end

-- A version 4 UUID, as the daemon's command ids.
function B.uuid()
   local r = sysbench.rand.uniform
   return string.format("%04x%04x-%04x-4%03x-%04x-%06x%06x", r(0, 0xffff), r(0, 0xffff),
                        r(0, 0xffff), r(0, 0xfff), r(0x8000, 0xbfff), r(0, 0xffffff),
                        r(0, 0xffffff))
end

-- A deadlock or lock wait timeout restarts the event (--mysql-ignore-errors):
-- roll back first, as the daemon does before it retries.
function B.rollback_on_restart(con_of)
   sysbench.hooks.before_restart_event = function(err)
      local con = con_of()
      if con then
         con:query("ROLLBACK")
      end
   end
end

return B
