-- wrk script: POST one fixed body (from the file in $LOADTEST_BODY) to the URL's path, with the
-- Content-Type and optional X-Tensor-Shape from $LOADTEST_CONTENT_TYPE / $LOADTEST_SHAPE (a plain GET
-- when $LOADTEST_BODY is unset, for a baseline such as /healthz), count
-- status codes and 503/429 answers lacking Retry-After, and print one machine-readable line:
-- RESULT rps=<n> p50_ms=<n> p90_ms=<n> p99_ms=<n> requests=<n> errors=<socket errors> codes=<code:count,...> no_retry_after=<n>

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   local path = os.getenv("LOADTEST_BODY")
   if path and path ~= "" then
      local f = assert(io.open(path, "rb"))
      wrk.method = "POST"
      wrk.body = f:read("*a")
      f:close()
      wrk.headers["Content-Type"] = os.getenv("LOADTEST_CONTENT_TYPE") or "application/json"
      local shape = os.getenv("LOADTEST_SHAPE")
      if shape and shape ~= "" then wrk.headers["X-Tensor-Shape"] = shape end
   end
   codes = {}
   no_retry_after = 0
end

function response(status, headers, body)
   codes[status] = (codes[status] or 0) + 1
   if (status == 503 or status == 429) and headers["Retry-After"] == nil then
      no_retry_after = no_retry_after + 1
   end
end

function done(summary, latency, requests)
   local all, missing = {}, 0
   for _, t in ipairs(threads) do
      local c = t:get("codes")
      for code, n in pairs(c) do all[code] = (all[code] or 0) + n end
      missing = missing + t:get("no_retry_after")
   end
   local parts = {}
   for code, n in pairs(all) do table.insert(parts, code .. ":" .. n) end
   table.sort(parts)
   local e = summary.errors
   local socket_errors = e.connect + e.read + e.write + e.timeout
   io.write(string.format(
      "RESULT rps=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f requests=%d errors=%d codes=%s no_retry_after=%d\n",
      summary.requests / (summary.duration / 1e6),
      latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
      summary.requests, socket_errors, table.concat(parts, ","), missing))
end
