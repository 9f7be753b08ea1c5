--- The control endpoints of the sandbox, under /_sandbox/: no token, not
-- in the request log, not hit by faults.
--   GET /_sandbox/ledger     the charges        GET /_sandbox/requests   the request log (and its bounds)
--   GET /_sandbox/state      everything         POST /_sandbox/reset     back to the fixture
--   GET|POST|DELETE /_sandbox/faults   list, add (a rule: proxyshard.sandbox.faults), clear
local cjson = require "cjson"
local json = require "proxyshard.wire.json"
local reply = require "proxyshard.sandbox.reply"

local respond = reply.json
local array = json.array

-- Own decoder: a canned body in a rule is kept as sent, nulls included.
local decoder = require("cjson.safe").new()
decoder.decode_invalid_numbers(false)

local M = {}

local control = {}

function control.ledger(sb)
  return respond(200, { ledger = sb:ledger() })
end

-- The two dumps are written by the state itself, which pauses between
-- pieces of a long request log (see State:log_json); `log` tells the log's
-- size and bounds.
function control.requests(sb)
  return respond(200, '{"log":' .. json.encode(sb:log_stats()) .. ',"requests":' .. sb:log_json() .. "}")
end

function control.state(sb)
  return respond(200, sb:snapshot_json())
end

function control.reset(sb)
  sb:reset()
  return respond(200, { success = true, message = "Sandbox reset" })
end

function control.faults_list(sb)
  return respond(200, { success = true, faults = array(sb.faults:list()), spent = array(sb.faults:list_spent()) })
end

function control.faults_add(sb, req)
  local body, err = decoder.decode(req.body or "")
  if type(body) ~= "table" or not (req.body or ""):match("^%s*{") then
    reply.bad("Json deserialize error: " .. (err or "expected a JSON object"))
  end
  for k, v in pairs(body) do
    if v == cjson.null then body[k] = nil end
  end
  -- a JSON object as the canned body, for convenience
  if type(body.body) == "table" then body.body = json.encode(body.body) end
  local rule, why = sb.faults:add(body)
  if not rule then reply.bad(why) end
  return respond(200, { success = true, fault = rule, faults = array(sb.faults:list()) })
end

function control.faults_clear(sb)
  sb.faults:clear()
  return respond(200, { success = true, message = "Faults cleared" })
end

local ROUTES = {
  ["/_sandbox/ledger"] = { GET = control.ledger },
  ["/_sandbox/requests"] = { GET = control.requests },
  ["/_sandbox/state"] = { GET = control.state },
  ["/_sandbox/reset"] = { POST = control.reset },
  ["/_sandbox/faults"] = { GET = control.faults_list, POST = control.faults_add, DELETE = control.faults_clear },
}

--- Is `path` a control path?
function M.is(path)
  return path == "/_sandbox" or path:sub(1, 10) == "/_sandbox/"
end

--- The answer to a control request.
function M.handle(sb, req)
  local ok, res = pcall(function()
    local methods = ROUTES[req.path]
    if not methods then reply.reject(404, "Not found") end
    local fn = methods[req.method]
    if not fn then
      local names = {}
      for m in pairs(methods) do names[#names + 1] = m end
      table.sort(names)
      reply.reject(405, "Method not allowed", { allow = table.concat(names, ", ") })
    end
    return fn(sb, req)
  end)
  return ok and res or reply.error_response(res)
end

return M
