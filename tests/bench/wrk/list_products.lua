-- list_products.lua - GET /queries/products?category=C&sort=best_selling&limit=20
--   wrk ... -s list_products.lua URL -- CATEGORY_COUNT
-- A random one of the seeded categories, category-01 .. category-NN.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local reqs = {}

function init(args)
   seed_random()
   local n = tonumber(args[1]) or 20
   for i = 1, n do
      reqs[i] = wrk.format("GET", string.format(
         "/queries/products?category=category-%02d&sort=best_selling&limit=20", i))
   end
end

function request()
   return reqs[math.random(#reqs)]
end
