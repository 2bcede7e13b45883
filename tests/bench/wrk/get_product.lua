-- get_product.lua - GET /queries/products/{random id}
--   wrk ... -s get_product.lua URL -- PRODUCT_IDS_FILE
-- The requests are formatted once (one per id) and picked at random, so the
-- load generator spends its time on sockets, not on Lua. No response():
-- statuses come from wrk's own count of non-2xx/3xx and the daemon's /metrics.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local reqs = {}

function init(args)
   seed_random()
   for i, id in ipairs(read_ids(args[1])) do
      reqs[i] = wrk.format("GET", "/queries/products/" .. id)
   end
end

function request()
   return reqs[math.random(#reqs)]
end
