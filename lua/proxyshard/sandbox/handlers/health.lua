--- The service probes, /health and /health/live: no token, and no JSON
-- body in the document ("Service is up"), so the answer is that text.
local H = {}

local function up()
  return { status = 200, headers = { ["content-type"] = "text/plain; charset=utf-8" }, body = "Service is up" }
end

H["client.health"] = up
H["client.live"] = up

return H
