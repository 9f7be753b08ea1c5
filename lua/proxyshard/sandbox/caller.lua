--- Requests to a sandbox in-process, sent as a well-behaved client sends
-- them over HTTP — the bearer token, a JSON body (`{}` when there is none)
-- with its Content-Type and Content-Length, a query from a table — and
-- through the very entry point the HTTP server uses (`sb:handle`). For specs,
-- and for scripts that embed the sandbox without a socket.
--
--   local c = require("proxyshard.sandbox.caller").new(sb)
--   local res = c:get("/user/api/orders", { status = "all", limit = 2 })
--   res.status, res.json.orders[1].order_id
--
-- `res.json` is the body decoded by cjson (a null stays cjson.null, so
-- specs can see it), or nil when the body is not JSON.
local cjson = require("cjson.safe").new()
local json = require "proxyshard.wire.json"
local url = require "proxyshard.wire.url"

local M = {}

local Caller = {}
Caller.__index = Caller

--- A query string from a table (keys sorted, values percent-encoded), or
-- the string given.
function M.query(q)
  if type(q) ~= "table" then return q end
  local keys = {}
  for k in pairs(q) do keys[#keys + 1] = k end
  table.sort(keys)
  local pairs_list = {}
  for i, k in ipairs(keys) do
    local v = q[k]
    -- an integral float (cjson decodes every number as one) is written as
    -- an integer; any other value as its text (a spec may send 1.5 on purpose)
    if type(v) == "number" and not math.tointeger(v) then v = tostring(v) end
    pairs_list[i] = { k, v }
  end
  return url.query(pairs_list)
end

--- A caller of `sb` with `token` (default: the sandbox's own).
function M.new(sb, token)
  return setmetatable({ sb = sb, token = token or sb.token }, Caller)
end

--- Any request: `r.method`, `r.path`, `r.query` (string or table),
-- `r.body` (table: encoded by proxyshard.wire.json; string: sent as is),
-- `r.headers` (replace the default ones when given).
function Caller:request(r)
  local body = r.body
  if type(body) == "table" then body = json.encode(body) end
  local headers = r.headers
  if not headers then
    headers = { authorization = "Bearer " .. self.token }
    if body then
      headers["content-type"] = "application/json"
      headers["content-length"] = tostring(#body)
    end
  end
  local res = self.sb:handle { method = r.method, path = r.path, query = M.query(r.query), body = body,
    headers = headers }
  if res.body then res.json = cjson.decode(res.body) end
  return res
end

function Caller:get(path, query)
  return self:request { method = "GET", path = path, query = query }
end

function Caller:post(path, body, query)
  return self:request { method = "POST", path = path, query = query, body = body or "{}" }
end

function Caller:patch(path, body, query)
  return self:request { method = "PATCH", path = path, query = query, body = body or "{}" }
end

function Caller:delete(path, query)
  return self:request { method = "DELETE", path = path, query = query }
end

return M
