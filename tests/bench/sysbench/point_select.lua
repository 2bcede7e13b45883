-- point_select.lua - the database-only side of GET /queries/products/{id}:
-- the daemon's prepared statement on the reader account, a random seeded id.
local B = require("bench_sb")

function thread_init()
   drv, con = B.connect()
   ids = B.ids(con, "SELECT product_id FROM product_view ORDER BY product_id")
   sel = B.prepare(con, B.SQL.PRODUCT_DOC, "i")
end

function event()
   B.run(sel, ids[sysbench.rand.uniform(1, #ids)])
end

function thread_done()
   sel.stmt:close()
   con:disconnect()
end
