--- Checks of parameters that the sandbox reads in the API's wire form where
-- the client's validators (proxyshard.check.validate) take another form, or
-- accept more than the API should. Same calling convention as the
-- validators: `check(value, name)` → the value, or `nil, err` with
-- `err.message` naming the parameter; the limits inside come from
-- proxyshard.check.validate, so client and sandbox agree on them.
--   proxy_type      exactly "standart" or "premium": the client's "standard"
--                   alias is the client's, never sent
--   addons_json     the query's JSON text of [{addon_key, qty}, ...]
--   addons_list     the purchase body's array of {addon_key, qty}
--   signature_items, deletion_items   the {ip, signature} / {ip, value}
--                   arrays. The client refuses an IP listed twice; the API
--                   takes it (the last value wins), so the sandbox does too,
--                   and any text for `ip`: one that is no IP of the order
--                   is refused by the handler, by name.
local validate = require "proxyshard.check.validate"
local errors = require "proxyshard.errors"
local json = require "proxyshard.wire.json"

local invalid = errors.invalid
local format = string.format

local M = {}

--- A JSON array as cjson decodes it: keys 1..n only ([] and {} both decode
-- to an empty table, and both count). The library's one rule for it.
M.is_array = require("proxyshard.wire.json").is_array

-- cjson decodes every number as a float on Lua 5.4: integral ones become
-- integers, so a check's message shows `10001`, not `10001.0`.
local function integers(v)
  if type(v) == "number" then return math.tointeger(v) or v end
  if type(v) == "table" then
    for k, x in pairs(v) do v[k] = integers(x) end
  end
  return v
end

--- JSON text decoded as the API reads it: NaN, Infinity and hex refused
-- (serde_json does), nulls dropped (proxyshard.wire.json), integral numbers as
-- integers. `nil, message` when it is no JSON.
function M.decode(text)
  local value, err = json.decode(text)
  if value == nil then return nil, err end
  return integers(value)
end

local function is_object(t)
  return type(t) == "table" and (next(t) == nil or not M.is_array(t))
end

function M.proxy_type(v, name)
  for _, t in ipairs(validate.PROXY_TYPES) do
    if v == t then return v end
  end
  return nil, invalid(name, format("must be one of %s, got %q", table.concat(validate.PROXY_TYPES, ", "),
    tostring(v)))
end

function M.addons_list(v, name)
  if not M.is_array(v) then return nil, invalid(name, "must be an array of {addon_key, qty}") end
  local out, seen = {}, {}
  for i, item in ipairs(v) do
    local where = format("%s[%d]", name, i)
    if not is_object(item) then return nil, invalid(where, "must be an object {addon_key, qty}") end
    local key, err = validate.addon_key(item.addon_key)
    if not key then return nil, invalid(where, "has a bad addon_key: " .. err.message) end
    if seen[key] then return nil, invalid(where, "repeats " .. key) end
    seen[key] = true
    local qty
    qty, err = validate.quantity(item.qty, where .. ".qty")
    if not qty then return nil, err end
    out[i] = { addon_key = key, qty = qty }
  end
  return out
end

function M.addons_json(v, name)
  local list = type(v) == "string" and M.decode(v)
  if not list then return nil, invalid(name, "must be JSON text of [{addon_key, qty}, ...]") end
  return M.addons_list(list, name)
end

local function ip_items(v, name, field, check)
  if not M.is_array(v) or #v == 0 then
    return nil, invalid(name, format("must be a non-empty array of {ip, %s}", field))
  end
  local out = {}
  for i, item in ipairs(v) do
    local where = format("%s[%d]", name, i)
    if not is_object(item) then return nil, invalid(where, format("must be an object {ip, %s}", field)) end
    if type(item.ip) ~= "string" then return nil, invalid(where .. ".ip", "must be a string") end
    local value, err = check(item[field], where .. "." .. field)
    if value == nil then return nil, err end
    out[i] = { ip = item.ip, [field] = value }
  end
  return out
end

function M.signature_items(v, name)
  return ip_items(v, name, "signature", validate.signature)
end

function M.deletion_items(v, name)
  return ip_items(v, name, "value", validate.boolean)
end

return M
