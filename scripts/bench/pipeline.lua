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

-- The same machine-readable line as a plain run: report.lua's `done`, loaded from beside
-- this file (wrk takes one script).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
