--- Start bin/proxyshard-sandbox as a separate process on a free port, and
-- talk to its control endpoints (ledger, requests, faults, reset) over
-- real HTTP through proxyshard.core.
local core = require "proxyshard.core"
local cjson = require "cjson"

local M = {}

local Sandbox = {}
Sandbox.__index = Sandbox

--- Start a sandbox; `args` are extra command-line arguments; `ca_file`
-- the certificate to trust when it serves HTTPS.
function M.start(args, ca_file)
  -- `echo $$` then `exec`: the printed pid is the sandbox's own
  local cmd = "echo $$; exec lua5.4 bin/proxyshard-sandbox --port 0 " .. (args or "")
    .. " 2>>/tmp/proxyshard-sandbox-spec.log"
  local pipe = assert(io.popen(cmd, "r"))
  local pid = assert(tonumber(pipe:read("*l")), "no pid")
  local line = pipe:read("*l")
  assert(line, "the sandbox printed nothing (see /tmp/proxyshard-sandbox-spec.log)")
  local url = assert(line:match("(https?://127%.0%.0%.1:%d+)"), "no URL in: " .. line)
  local self = setmetatable({ pipe = pipe, pid = pid, url = url, line = line,
    session = core.session { timeout_ms = 5000, ca_file = ca_file } }, Sandbox)
  return self
end

--- Control request; returns the decoded JSON answer.
function Sandbox:control(method, path, body)
  local res, err = self.session:perform {
    method = method, url = self.url .. path,
    headers = { "Content-Type: application/json" },
    body = body and cjson.encode(body) or (method ~= "GET" and "" or nil),
  }
  assert(res, err and err.message)
  assert(res.status >= 200 and res.status < 300, "control " .. path .. ": HTTP " .. res.status .. " " .. res.body)
  return res.body ~= "" and cjson.decode(res.body) or nil
end

function Sandbox:reset() return self:control("POST", "/_sandbox/reset") end
function Sandbox:ledger() return self:control("GET", "/_sandbox/ledger").ledger end
function Sandbox:requests() return self:control("GET", "/_sandbox/requests").requests end
function Sandbox:state() return self:control("GET", "/_sandbox/state") end
function Sandbox:fault(spec) return self:control("POST", "/_sandbox/faults", spec) end

--- The cents charged since the last reset, all charges added up.
function Sandbox:spent()
  local total = 0
  for _, charge in ipairs(self:ledger()) do total = total + charge.amount_cents end
  return total
end

--- SIGTERM, then wait; returns what io.popen's close returns (ok, "exit", code).
function Sandbox:stop()
  if not self.pipe then return end
  self.session:close()
  os.execute("kill -TERM " .. self.pid .. " 2>/dev/null")
  local ok, how, code = self.pipe:close()
  self.pipe = nil
  return ok, how, code
end

return M
