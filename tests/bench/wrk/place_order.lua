-- place_order.lua - POST /commands PlaceOrder: a random seeded customer,
-- 1-3 distinct random products (in random order: the daemon sorts them for
-- locking), quantity 1 each.
--   wrk ... -s place_order.lua URL -- PRODUCT_IDS_FILE CUSTOMER_IDS_FILE
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local products, customers
local headers = {["Content-Type"] = "application/json"}

function init(args)
   seed_random()
   products = read_ids(args[1])
   customers = read_ids(args[2])
end

function request()
   local n = math.random(3)
   local picked, items = {}, {}
   while #items < n do
      local p = products[math.random(#products)]
      if not picked[p] then
         picked[p] = true
         items[#items + 1] = string.format('{"product_id":%d,"quantity":1}', p)
      end
   end
   local body = string.format('{"type":"PlaceOrder","data":{"customer_id":%d,"items":[%s]}}',
                              customers[math.random(#customers)], table.concat(items, ","))
   return wrk.format("POST", "/commands", headers, body)
end

function response(status, hdrs, body)
   count_status(status)
end
