-- wrk: print one machine-readable line after the run (bench-http.sh greps "^WRK ").
done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "WRK requests=%d duration_us=%d req_per_s=%.2f p50_us=%d p99_us=%d mean_us=%.1f errors=%d non2xx=%d\n",
      summary.requests, summary.duration, summary.requests / summary.duration * 1e6,
      latency:percentile(50), latency:percentile(99), latency.mean,
      e.connect + e.read + e.write + e.timeout, e.status))
end
