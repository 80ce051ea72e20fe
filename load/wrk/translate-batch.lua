-- wrk script for the admin server's binary batch endpoint (docs/performance.md).
-- The body is a file of 16-byte request records, written by the load tool:
--   dotnet run -c Release --project load/Siov.Fast.Load -- --workload hot4k --batch 256 --write-body /tmp/hot4k-256.bin
--   BODY=/tmp/hot4k-256.bin wrk -t2 -c16 -d30s -s load/wrk/translate-batch.lua http://127.0.0.1:5080
-- Translations per second = wrk's Requests/sec x the records per body (256 above).
local path = os.getenv("BODY") or "/tmp/hot4k-256.bin"
local file = assert(io.open(path, "rb"), "cannot open " .. path .. " (set BODY)")
local body = file:read("*all")
file:close()
assert(#body > 0 and #body % 16 == 0, path .. " is not a whole number of 16-byte records")

wrk.method = "POST"
wrk.path = "/translate/batch"
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.body = body

local failures = 0
local wrong_size = 0

function response(status, headers, response_body)
  if status ~= 200 then
    failures = failures + 1
  elseif #response_body ~= #body then
    wrong_size = wrong_size + 1 -- one 16-byte result record per request record
  end
end

function done(summary, latency, requests)
  io.write(string.format("records per request: %d\n", #body / 16))
  io.write(string.format("translations/s: %.0f\n", summary.requests / (summary.duration / 1e6) * (#body / 16)))
  io.write(string.format("non-200 responses (this thread's view): %d, wrong-size bodies: %d\n", failures, wrong_size))
end
