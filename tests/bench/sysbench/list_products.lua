-- list_products.lua - the database-only side of
-- GET /queries/products?category=C&sort=best_selling&limit=20: the first page,
-- with the parameters the daemon binds (key INT64_MAX, id 0, limit + 1 rows).
local B = require("bench_sb")

function thread_init()
   drv, con = B.connect()
   cats = {}
   for i, r in ipairs(B.rows(con, "SELECT DISTINCT category_key FROM product_view ORDER BY 1")) do
      cats[i] = r[1]
   end
   assert(#cats > 0, "no categories")
   sel = B.prepare(con, B.SQL.PRODUCTS_CAT_BY_SOLD, 400, "i", "i", "i", "i")
end

function event()
   B.run(sel, cats[sysbench.rand.uniform(1, #cats)], B.INT64_MAX, B.INT64_MAX, 0, 21)
end

function thread_done()
   sel.stmt:close()
   con:disconnect()
end
