-- token_read.lua - what the consistency token costs a read: each connection
-- writes, then reads what it wrote, as a client does:
--   POST /commands UpdateProductPrice (product p, a new price)
--   GET /queries/products/p
-- and every other cycle the GET carries the command's consistency_token in
-- X-Consistency-Token (answered from data that includes the write: it may
-- wait for the replica), the others without it (a plain replica read of the
-- same kind of document, under the same write load, in the same seconds).
--   wrk -tN -cN ... -s token_read.lua URL -- PRODUCT_IDS_FILE N
-- N threads with one connection each (-t and -c equal, N given again): a
-- thread's request() and response() then alternate on its one connection,
-- so the time between them is that request's latency. Only the GETs are
-- timed (CLOCK_MONOTONIC through LuaJIT's ffi, from request() to
-- response(): what wrk itself measures, from the write of the request to
-- the end of the answer); wrk's own histogram mixes POSTs and GETs and is
-- not used. Thread t writes only the products at positions t, t+N, ... of
-- the file, so no other connection changes its products: a token read that
-- does not show its own price is a broken read-your-writes (counted).
-- done() prints one line, BENCH {...}, with exact quantiles of both kinds.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local ffi = require("ffi")
pcall(ffi.cdef, [[
typedef struct { long tv_sec; long tv_nsec; } bench_tok_timespec;
int clock_gettime(int clk, bench_tok_timespec *ts);
]])
local ts = ffi.new("bench_tok_timespec")
local function now_us()
   ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
   return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

local mine = {}
local json_headers = {["Content-Type"] = "application/json"}
local phase = "write" -- or "read"
local cycle, p, price, token, t0 = 0, 0, 0, nil, 0
local with_token = false

-- per thread, read back by done()
lat_token = {}  -- us, GETs with the token
lat_plain = {}  -- us, GETs without it
writes, no_token, stale_token, stale_plain, bad_read = 0, 0, 0, 0, 0

function init(args)
   seed_random()
   local ids, n = read_ids(args[1]), tonumber(args[2])
   assert(n and n >= 1, "token_read.lua: give the number of threads after the ids file")
   for i = tid + 1, #ids, n do
      mine[#mine + 1] = ids[i]
   end
   assert(#mine > 0, "token_read.lua: no product for thread " .. tid)
end

function request()
   if phase == "write" then
      cycle = cycle + 1
      p = mine[math.random(#mine)]
      -- a price this thread has not set before on any product (until it wraps)
      price = 100 + (cycle * 7919 + tid) % 9999900
      t0 = now_us()
      return wrk.format("POST", "/commands", json_headers, string.format(
         '{"type":"UpdateProductPrice","data":{"product_id":%d,"price_cents":%d}}', p, price))
   end
   local h = nil
   if with_token then
      h = {["X-Consistency-Token"] = token}
   end
   t0 = now_us()
   return wrk.format("GET", "/queries/products/" .. p, h)
end

function response(status, headers, body)
   local t = now_us() - t0
   count_status(status)
   if phase == "write" then
      writes = writes + 1
      token = status < 300 and body and body:match('"consistency_token":"([^"]+)"') or nil
      if token then
         phase = "read"
         with_token = not with_token
      else
         no_token = no_token + 1 -- write again
      end
      return
   end
   phase = "write"
   local fresh = status == 200 and body and
      body:find('"price_cents":' .. price .. '[,}]') ~= nil
   if status ~= 200 then
      bad_read = bad_read + 1
   elseif with_token then
      lat_token[#lat_token + 1] = t
      if not fresh then
         stale_token = stale_token + 1
      end
   else
      lat_plain[#lat_plain + 1] = t
      if not fresh then
         stale_plain = stale_plain + 1
      end
   end
end

local function stats(xs)
   table.sort(xs)
   local n = #xs
   if n == 0 then
      return '{"n":0}'
   end
   local function q(f)
      return xs[math.max(1, math.ceil(f * n))]
   end
   local sum = 0
   for i = 1, n do
      sum = sum + xs[i]
   end
   return string.format('{"n":%d,"mean_us":%.1f,"p50_us":%.1f,"p90_us":%.1f,"p99_us":%.1f,' ..
                        '"p999_us":%.1f,"max_us":%.1f}', n, sum / n, q(0.5), q(0.9), q(0.99),
                        q(0.999), xs[n])
end

local threads = {}
local common_setup = setup
function setup(thread)
   common_setup(thread)
   table.insert(threads, thread)
end

function done(summary, latency, requests)
   local tok, plain, all = {}, {}, {}
   local c = {writes = 0, no_token = 0, stale_token = 0, stale_plain = 0, bad_read = 0}
   for _, t in ipairs(threads) do
      for _, v in ipairs(t:get("lat_token") or {}) do
         tok[#tok + 1] = v
      end
      for _, v in ipairs(t:get("lat_plain") or {}) do
         plain[#plain + 1] = v
      end
      for k in pairs(c) do
         c[k] = c[k] + (t:get(k) or 0)
      end
      for k, v in pairs(t:get("statuses") or {}) do
         all[k] = (all[k] or 0) + v
      end
   end
   local parts = {}
   for k, v in pairs(all) do
      parts[#parts + 1] = string.format('"%s":%d', tostring(k), v)
   end
   table.sort(parts)
   local e = summary.errors
   io.write(string.format(
      'BENCH {"requests":%d,"duration_us":%d,"writes":%d,"writes_without_token":%d,' ..
      '"token_gets":%s,"plain_gets":%s,"stale_token_reads":%d,"stale_plain_reads":%d,' ..
      '"failed_reads":%d,"non_2xx_3xx":%d,' ..
      '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"lua_statuses":{%s}}\n',
      summary.requests, summary.duration, c.writes, c.no_token, stats(tok), stats(plain),
      c.stale_token, c.stale_plain, c.bad_read, e.status, e.connect, e.read, e.write, e.timeout,
      table.concat(parts, ",")))
end
