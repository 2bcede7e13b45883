-- common.lua - shared by the wrk scripts of `make bench` (tests/bench/run.sh).
--
-- Each script starts with dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua").
-- It numbers the threads (global `tid` in each thread's Lua state, from 0),
-- reads id files, counts statuses (scripts that define response() call
-- count_status) and, in done(), prints one line for run.sh to parse:
--   BENCH {"requests": ..., "p50_us": ..., "p99_us": ..., "lua_statuses": {...}, ...}
-- p50/p90/p99 are raw (see raw_quantiles); BENCH_CONNECTIONS must name -c.

local threads = {} -- the main Lua state's list, for done()

function setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

statuses = {} -- per thread: status -> count (read back by done())

function count_status(status)
   statuses[status] = (statuses[status] or 0) + 1
end

-- A file of decimal ids, one per line, as an array.
function read_ids(path)
   local ids = {}
   local f = assert(io.open(path, "r"), "cannot open " .. tostring(path))
   for line in f:lines() do
      local n = tonumber(line)
      if n then
         ids[#ids + 1] = n
      end
   end
   f:close()
   assert(#ids > 0, "no ids in " .. path)
   return ids
end

function seed_random()
   math.randomseed(os.time() * 1009 + (tid or 0) * 7919 + math.floor(os.clock() * 1e6))
   for _ = 1, 10 do
      math.random()
   end
end

-- wrk corrects its latency histogram for coordinated omission before done()
-- (stats_correct in wrk's src/stats.c: a sample of n us adds samples at
-- n - e, n - 2e, ... while above e, where e = duration / (requests /
-- connections)); sysbench reports raw closed-loop latencies. For a like-for-
-- like comparison this returns the raw quantiles (in us) for the fractions
-- qs (ascending): with C the corrected histogram and CC its cumulative count,
-- the raw count of samples <= x is CC(x) for x <= e, else
-- CC(x) - CC(x + e) + CC(2e).
local function raw_quantiles(latency, requests, duration_us, connections, qs)
   local nb = #latency
   local vals, cum, loaded = {}, {}, 0
   local function load(j) -- buckets 1..j (value, count) in increasing value
      while loaded < j and loaded < nb do
         loaded = loaded + 1
         local v, c = latency(loaded)
         vals[loaded] = v
         cum[loaded] = (cum[loaded - 1] or 0) + c
      end
   end
   local function cc(y) -- corrected samples <= y
      while loaded < nb and (loaded == 0 or vals[loaded] <= y) do
         load(loaded + 1)
      end
      local lo, hi = 0, loaded
      while lo < hi do
         local mid = math.floor((lo + hi + 1) / 2)
         if vals[mid] <= y then lo = mid else hi = mid - 1 end
      end
      return lo > 0 and cum[lo] or 0
   end
   local per = math.floor(requests / connections)
   local e = per > 0 and math.floor(duration_us / per) or nil
   local function raw_cum(x)
      if not e or x <= e then
         return cc(x)
      end
      return cc(x) - cc(x + e) + cc(2 * e)
   end
   local out, j = {}, 1
   for _, q in ipairs(qs) do
      local rank = math.max(1, math.ceil(q * requests))
      while true do
         load(j)
         if j > loaded then
            out[q] = loaded > 0 and vals[loaded] or 0
            break
         end
         if raw_cum(vals[j]) >= rank then
            out[q] = vals[j]
            break
         end
         j = j + 1
      end
   end
   return out
end

function done(summary, latency, requests)
   local all = {}
   for _, t in ipairs(threads) do
      local s = t:get("statuses")
      if type(s) == "table" then
         for k, v in pairs(s) do
            all[k] = (all[k] or 0) + v
         end
      end
   end
   local parts = {}
   for k, v in pairs(all) do
      parts[#parts + 1] = string.format('"%s":%d', tostring(k), v)
   end
   table.sort(parts)
   local conns = tonumber(os.getenv("BENCH_CONNECTIONS") or "")
   local raw = {}
   if conns and summary.requests > 0 then
      raw = raw_quantiles(latency, summary.requests, summary.duration, conns,
                          {0.5, 0.9, 0.99, 0.999})
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,' ..
      '"corrected_p50_us":%d,"corrected_p90_us":%d,"corrected_p99_us":%d,' ..
      '"max_us":%d,"corrected_mean_us":%.1f,"non_2xx_3xx":%d,' ..
      '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},' ..
      '"lua_statuses":{%s}}\n',
      summary.requests, summary.duration, summary.bytes,
      raw[0.5] or -1, raw[0.9] or -1, raw[0.99] or -1, raw[0.999] or -1,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean, e.status, e.connect, e.read, e.write, e.timeout,
      table.concat(parts, ",")))
end
