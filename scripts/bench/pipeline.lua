-- wrk: HTTP/1.1 pipelining. Each write carries DEPTH requests (default 16:
-- `wrk ... -s pipeline.lua URL -- 16`); wrk counts and times each response.
init = function(args)
   local depth = tonumber(args[1]) or 16
   local r = {}
   for i = 1, depth do
      r[i] = wrk.format(nil)
   end
   req = table.concat(r)
end

request = function()
   return req
end

done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "WRK requests=%d duration_us=%d req_per_s=%.2f p50_us=%d p99_us=%d mean_us=%.1f errors=%d non2xx=%d\n",
      summary.requests, summary.duration, summary.requests / summary.duration * 1e6,
      latency:percentile(50), latency:percentile(99), latency.mean,
      e.connect + e.read + e.write + e.timeout, e.status))
end
