--- The parameters of a request, read by its operation's row
-- (proxyshard.operations): path, query and JSON body parameters by their
-- wire names, required ones present, each through its check — the
-- client's own validator (proxyshard.check.validate), or, where the API's wire
-- form differs, the sandbox's (proxyshard.sandbox.checks). Returns the
-- values by the params' Lua names; a refusal is raised (proxyshard.sandbox.reply).
--
-- One style for every refused parameter: where it was, then the
-- validator's own words, which name the parameter by its wire name:
--   400 "Invalid query: add_qty must be an integer from 1 to 10000, got 0"
--   400 "Invalid body: addon_key is required"
--   404 "Invalid path: id must be a positive integer up to 2^53-1, got \"0\""
-- (a path that does not parse names no resource: 404, as actix-web answers
-- a path it cannot deserialize). A body that is not a JSON object at all is
-- refused before any parameter, in actix-web's words ("no Content-Length
-- specified", "Content type error", "Json deserialize error: ...").
local validate = require "proxyshard.check.validate"
local checks = require "proxyshard.sandbox.checks"
local reply = require "proxyshard.sandbox.reply"

local M = {}

-- Query values are text: these checks take integers (a decimal integer is
-- read as one; anything else is left as text for the check to refuse, in
-- its own words) or booleans ("true" / "false").
local INTEGER_CHECKS = { id = true, quantity = true, offset = true, limit = true, gb = true }

-- The checks whose wire form the sandbox reads itself (see
-- proxyshard.sandbox.checks); every other one is the client's validator.
local OWN_CHECKS = {
  proxy_type = checks.proxy_type, addons_json = checks.addons_json, addons_list = checks.addons_list,
  signature_items = checks.signature_items, deletion_items = checks.deletion_items,
}

local function check_of(name)
  return assert(OWN_CHECKS[name] or validate[name], "no check " .. tostring(name))
end

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- In a query, "+" is a space too (form encoding); in a path it is itself.
local function percent_decode(s)
  return unescape((s:gsub("+", " ")))
end

--- The query string as a table; the first occurrence of a key wins.
function M.parse_query(raw)
  local out = {}
  if not raw or raw == "" then return out end
  for pair in raw:gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    k = percent_decode(k)
    if out[k] == nil then out[k] = percent_decode(v) end
  end
  return out
end

local function from_text(check, text)
  if INTEGER_CHECKS[check] then
    return text:match("^[+-]?%d+$") and math.tointeger(tonumber(text)) or text
  elseif check == "boolean" then
    if text == "true" then return true elseif text == "false" then return false end
  end
  return text
end

local function is_json_content_type(value)
  if type(value) ~= "string" then return false end
  local mime = value:match("^%s*([^;%s]+)")
  return mime ~= nil and mime:lower() == "application/json"
end

local function has_length(req)
  return req.headers["content-length"] ~= nil or req.headers["transfer-encoding"] ~= nil
end

-- The JSON object of a body, checked in the order actix-web does.
local function json_object(req)
  if not has_length(req) then reply.bad("no Content-Length specified") end
  if not is_json_content_type(req.headers["content-type"]) then reply.bad("Content type error") end
  local body = req.body or ""
  local value, err = checks.decode(body)
  -- only the text tells `{}` from `[]`: cjson gives a table for both
  if type(value) ~= "table" or not body:match("^%s*{") then
    reply.bad("Json deserialize error: " .. (err or "expected a JSON object"))
  end
  return value
end

local WHERE = { path = "Invalid path: ", query = "Invalid query: ", body = "Invalid body: " }

-- The validators show a value with tostring: a JSON array or object given
-- where text or a number belongs is named as such, not "table: 0x55d0...".
local function described(message, raw)
  if type(raw) ~= "table" then return message end
  local what = "an object"
  if next(raw) == nil then what = "[] or {}" elseif checks.is_array(raw) then what = "an array" end
  return (message:gsub("table: 0x%x+", what))
end

local function refuse(p, message)
  reply.reject(p.at == "path" and 404 or 400, WHERE[p.at] .. message)
end

--- The values of `row`'s params in `req` (`path` holds the raw path
-- segments the router captured), keyed by the params' Lua names.
function M.read(row, req, path)
  local query, body
  local wants_body = false
  for _, p in ipairs(row.params) do
    if p.at == "body" then wants_body = true end
  end
  -- actix-web refuses a POST or PATCH without a length even when it reads
  -- no body (the client sends an empty one, Content-Length: 0, for those)
  if (req.method == "POST" or req.method == "PATCH") and not has_length(req) then
    reply.bad("no Content-Length specified")
  end
  if wants_body then body = json_object(req) end

  local values = {}
  for _, p in ipairs(row.params) do
    local raw
    if p.at == "path" then
      raw = unescape(path[p.wire])
    elseif p.at == "query" then
      query = query or M.parse_query(req.query)
      raw = query[p.wire]
      if raw ~= nil then raw = from_text(p.check, raw) end
    else
      raw = body[p.wire]
    end
    if raw == nil then
      if p.required then refuse(p, p.wire .. " is required") end
    else
      local value, err = check_of(p.check)(raw, p.wire)
      if value == nil then refuse(p, described(err.message, raw)) end
      if p.value ~= nil and value ~= p.value then
        refuse(p, ("%s must be %q, got %q"):format(p.wire, p.value, tostring(value)))
      end
      values[p.name] = value
    end
  end
  return values
end

return M
