--- proxyshard.core alone: one session (one libcurl easy handle), perform
-- called with the same request table as proxyshard.transport.curl builds
-- for a quote (a new table each time; the header lines made once, as the
-- client makes them once per call). No JSON, no Lua layer.
--   usage: lua5.4 bench/perform.lua URL N TOTAL WARMUP
local lib = require "lib"
local core = require "proxyshard.core"

local url, n, total, warmup = lib.args()
local session = core.session {}
local headers = {
  "Accept: application/json",
  "User-Agent: proxyshard-lua/bench (" .. _VERSION .. "; libcurl/" .. core.curl_version .. ")",
  "Authorization: Bearer bench-token",
}

local function step()
  local res, err = session:perform {
    method = "GET", url = url, headers = headers, timeout_ms = 30000, connect_timeout_ms = 10000,
    no_resend = false,
  }
  if not res then return nil, err.message end
  if res.status ~= 200 then return nil, "status " .. tostring(res.status) end
  return true
end

lib.run(step, core.monotonic, n, total, warmup)
