-- get_customer.lua - GET /queries/customers/{random id}, as that customer
--   wrk ... -s get_customer.lua URL -- FILE
-- FILE has one customer per line: "ID" (no credentials: an open daemon) or
-- "ID TOKEN" (the customer's own JWT, sent as Authorization: Bearer). The
-- requests are formatted once and picked at random, as in get_product.lua.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local reqs = {}

function init(args)
   seed_random()
   local f = assert(io.open(args[1], "r"), "cannot open " .. tostring(args[1]))
   for line in f:lines() do
      local id, token = line:match("^(%d+)%s*(%S*)$")
      if id then
         local headers = nil
         if token ~= "" then
            headers = {["Authorization"] = "Bearer " .. token}
         end
         reqs[#reqs + 1] = wrk.format("GET", "/queries/customers/" .. id, headers)
      end
   end
   f:close()
   assert(#reqs > 0, "no customers in " .. args[1])
end

function request()
   return reqs[math.random(#reqs)]
end
