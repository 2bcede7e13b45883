-- update_price.lua - POST /commands UpdateProductPrice: a random seeded
-- product, a random price (no expected_version: never a conflict).
--   wrk ... -s update_price.lua URL -- PRODUCT_IDS_FILE
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local products
local headers = {["Content-Type"] = "application/json"}

function init(args)
   seed_random()
   products = read_ids(args[1])
end

function request()
   local body = string.format(
      '{"type":"UpdateProductPrice","data":{"product_id":%d,"price_cents":%d}}',
      products[math.random(#products)], math.random(100, 100000))
   return wrk.format("POST", "/commands", headers, body)
end

function response(status, hdrs, body)
   count_status(status)
end
