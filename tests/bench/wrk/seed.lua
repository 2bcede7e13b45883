-- seed.lua - seeds through the daemon's own API: CreateProduct for products
-- FIRST..NPRODUCTS, then RegisterCustomer for customers 1..NCUSTOMERS.
--   wrk -tT ... -s seed.lua URL -- FIRST NPRODUCTS NCUSTOMERS NCATEGORIES T DONE_DIR
-- Thread `tid` sends items tid+1, tid+1+T, ... so every item is sent once.
-- When a thread has had an answer to each of its items it writes
-- DONE_DIR/seed-done-<tid> ("<answers> <non-201 answers>") and stops; run.sh
-- waits for all T files and then ends wrk with SIGINT. Requests asked for
-- after a thread's last item are harmless GET /healthz, and so is thread 0's
-- first: wrk calls request() once on thread 0 to check its format, and
-- never sends that one.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local first, nproducts, ncustomers, ncategories, nthreads, done_dir
local left_products, total, quota
local next_k, answered, failed = 0, 0, 0
local finished = false
local verify_call = false
local headers = {["Content-Type"] = "application/json"}
local healthz

local description = "A product seeded by make bench: a plain description of about a " ..
                    "hundred characters, like a real one."

function init(args)
   first = tonumber(args[1])
   nproducts = tonumber(args[2])
   ncustomers = tonumber(args[3])
   ncategories = tonumber(args[4])
   nthreads = tonumber(args[5])
   done_dir = args[6]
   left_products = math.max(nproducts - first + 1, 0)
   total = left_products + ncustomers
   quota = tid < total and math.floor((total - tid - 1) / nthreads) + 1 or 0
   next_k = tid + 1
   healthz = wrk.format("GET", "/healthz")
   verify_call = tid == 0
   if quota == 0 then
      finish()
   end
end

function finish()
   if finished then
      return
   end
   finished = true
   local f = io.open(string.format("%s/seed-done-%d", done_dir, tid), "w")
   if f then
      f:write(string.format("%d %d\n", answered, failed))
      f:close()
   end
end

local function body_of(k)
   if k <= left_products then
      local i = first + k - 1
      return string.format(
         '{"type":"CreateProduct","data":{"sku":"BENCH-%06d","name":"Product %d",' ..
         '"description":"%s","category":"category-%02d","price_cents":%d,"stock":1000000}}',
         i, i, description, (i - 1) % ncategories + 1, 100 + (i * 7919) % 99900)
   end
   local c = k - left_products
   return string.format(
      '{"type":"RegisterCustomer","data":{"email":"customer-%d@bench.example",' ..
      '"name":"Customer %d"}}', c, c)
end

function request()
   if verify_call then
      verify_call = false
      return healthz
   end
   if next_k > total then
      return healthz
   end
   local k = next_k
   next_k = next_k + nthreads
   return wrk.format("POST", "/commands", headers, body_of(k))
end

function response(status, hdrs, body)
   if finished then
      return
   end
   if status == 200 then
      return -- a /healthz filler (these commands answer 201 or an error)
   end
   count_status(status)
   answered = answered + 1
   if status ~= 201 then
      failed = failed + 1
   end
   if answered >= quota then
      finish()
      wrk.thread:stop()
   end
end

-- pace the /healthz fillers while the last answers come in
function delay()
   return next_k > total and 10 or 0
end
