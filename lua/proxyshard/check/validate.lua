--- Argument checks run before any request. Each returns the normalised
-- value, or `nil, err` with an `invalid_argument` error naming the argument.
local errors = require "proxyshard.errors"
local integer = require "proxyshard.wire.integer"
local ip = require "proxyshard.wire.ip"
local options = require "proxyshard.check.options"

local type = type
local tostring = tostring
local tonumber = tonumber
local ipairs = ipairs
local pairs = pairs
local find = string.find
local format = string.format

local invalid = errors.invalid

local M = {}

--- What the checks below give when they accept a value, where it is one
-- type whatever was given: the request plans (proxyshard.engine.plan)
-- write such a value without asking its type. Change a validator's result,
-- change it here.
M.GIVES = {
  id = "integer", quantity = "integer", offset = "integer", limit = "integer", gb = "integer",
  addon_key = "string", text = "string", tag = "string", order_status = "string", proxy_type = "string",
  user_id = "string", code = "string", boolean = "boolean",
}

--- Largest quantity accepted in one call: far above any real order, low
-- enough that a typo (an extra zero or three) is caught before money moves.
M.MAX_QTY = 10000

--- The OS signatures the API knows, in the spec's order.
M.SIGNATURES = { "ios", "macos", "android", "linux", "win10", "win11" }
local signature_set = {}
for _, s in ipairs(M.SIGNATURES) do signature_set[s] = true end

local function describe(v)
  if type(v) == "string" then return format("%q", v) end
  return tostring(v)
end

--- A positive integer id: a number, or a string of decimal digits.
function M.id(v, name)
  local n = v
  if type(v) == "string" then
    if not find(v, "^%d+$") or #v > 16 then
      return nil, invalid(name, "must be a positive integer, got " .. describe(v))
    end
    n = tonumber(v)
  end
  local i = integer.from(n)
  if not i or i < 1 then
    return nil, invalid(name, "must be a positive integer up to 2^53-1, got " .. describe(v))
  end
  return i
end

-- Speed: the add-on keys seen valid (a handle is made per call, the same
-- few keys each time; a pattern's class costs far more than a lookup);
-- at most 64, then it starts over.
local valid_keys, valid_count = {}, 0

--- An add-on key such as "p0f_slots".
function M.addon_key(v)
  if valid_keys[v] then return v end
  if type(v) ~= "string" or not find(v, "^[a-z0-9_]+$") or #v > 64 then
    return nil, invalid("addon_key", "must match [a-z0-9_]+, got " .. describe(v))
  end
  if valid_count >= 64 then valid_keys, valid_count = {}, 0 end
  valid_keys[v], valid_count = true, valid_count + 1
  return v
end

--- A quantity: an integer from `min` (default 1) to MAX_QTY.
function M.quantity(v, name, min)
  min = min or 1
  local i = integer.from(v)
  if not i or i < min or i > M.MAX_QTY then
    return nil, invalid(name, format("must be an integer from %d to %d, got %s",
      min, M.MAX_QTY, describe(v)))
  end
  return i
end

local FLOAT = math.type and function(v) return math.type(v) == "float" end or function() return false end

--- An amount a caller gives, such as a cap: a money value, integer cents
-- (`100`), or a decimal string of dollars with a point (`"1.00"`, read by
-- proxyshard.money.parse). Never a float: `1.00` would be 1 cent. Lua 5.4
-- refuses any float; LuaJIT has no integer subtype, so there an integral
-- number (1.00 is 1) means that many cents and only fractions are refused.
-- A string without a point ("60") is refused too: cents or dollars?
function M.amount(v, name)
  local money = require "proxyshard.money"
  local hint = "; write cents as an integer (100 for $1.00), or dollars as text: \"1.00\" or "
    .. "proxyshard.money.parse(\"1.00\")"
  local m
  if money.is(v) then
    m = v
  elseif type(v) == "number" then
    if FLOAT(v) or not integer.is(v) then
      return nil, invalid(name, "must not be a float (got " .. tostring(v) .. ")" .. hint)
    end
    m = money.cents(v)
  elseif type(v) == "string" and find(v, ".", 1, true) then
    local err
    m, err = money.parse(v)
    if not m then return nil, invalid(name, "is not an amount: " .. err.message .. hint) end
  else
    return nil, invalid(name, "must be money, got " .. describe(v) .. hint)
  end
  if m.cents < 0 then return nil, invalid(name, "must not be negative, got " .. tostring(m)) end
  return m
end

--- An OS signature from the API's enum.
function M.signature(v, name)
  if not signature_set[v] then
    return nil, invalid(name or "signature", "must be one of "
      .. table.concat(M.SIGNATURES, ", ") .. ", got " .. describe(v))
  end
  return v
end

--- An IPv4 or IPv6 literal (no zone index, no brackets, no port). Returns
-- it as given, and its canonical spelling (proxyshard.wire.ip) for comparisons.
function M.ip(v, name)
  local canonical = ip.canonical(v)
  if canonical then return v, canonical end
  return nil, invalid(name or "ip", "must be an IPv4 or IPv6 address, got " .. describe(v))
end

--- A short text such as a product, cycle, location or name: a non-empty
-- string of at most 255 bytes without control characters.
function M.text(v, name)
  if type(v) ~= "string" or v == "" or #v > 255 or find(v, "[%z\1-\31\127]") then
    return nil, invalid(name, "must be a non-empty text of at most 255 characters without control "
      .. "characters, got " .. describe(v))
  end
  return v
end

--- An order's tag: like text, but may be empty (that clears it).
function M.tag(v, name)
  if v == "" then return v end
  return M.text(v, name)
end

--- true or false.
function M.boolean(v, name)
  if type(v) ~= "boolean" then return nil, invalid(name, "must be true or false, got " .. describe(v)) end
  return v
end

--- The order list's status filter.
M.ORDER_STATUSES = { "active", "on-hold", "cancelled", "all" }
local order_status_set = {}
for _, s in ipairs(M.ORDER_STATUSES) do order_status_set[s] = true end

--- An order list's status filter: one of ORDER_STATUSES.
function M.order_status(v, name)
  if not order_status_set[v] then
    return nil, invalid(name, "must be one of " .. table.concat(M.ORDER_STATUSES, ", ") .. ", got " .. describe(v))
  end
  return v
end

--- A page's offset (0 or more) and limit (1 to 100, as the API allows).
function M.offset(v, name)
  local i = integer.from(v)
  if not i or i < 0 then return nil, invalid(name, "must be an integer >= 0, got " .. describe(v)) end
  return i
end

M.MAX_LIMIT = 100

--- A page's limit: an integer from 1 to MAX_LIMIT.
function M.limit(v, name)
  local i = integer.from(v)
  if not i or i < 1 or i > M.MAX_LIMIT then
    return nil, invalid(name, "must be an integer from 1 to " .. M.MAX_LIMIT .. ", got " .. describe(v))
  end
  return i
end

--- A residential proxy type, as the API spells it ("standart", "premium");
-- "standard" is taken for "standart".
M.PROXY_TYPES = { "standart", "premium" }
local PROXY_TYPE_ALIASES = { standart = "standart", standard = "standart", premium = "premium" }

--- A residential proxy type: one of PROXY_TYPES, or "standard" (taken for "standart").
function M.proxy_type(v, name)
  local t = PROXY_TYPE_ALIASES[v]
  if not t then
    return nil, invalid(name or "proxy_type", "must be \"standart\" (or \"standard\") or \"premium\", got "
      .. describe(v))
  end
  return t
end

--- A sub-user id: the API's string ids (numbers are taken as their digits).
function M.user_id(v, name)
  if type(v) == "number" and integer.is(v) and v > 0 then v = format("%d", v) end
  if type(v) ~= "string" or not find(v, "^[%w._~-]+$") or #v > 128 then
    return nil, invalid(name, "must be a sub-user id (letters, digits, . _ ~ -), got " .. describe(v))
  end
  -- a path segment "." or ".." would change the path the request goes to
  if v == "." or v == ".." then
    return nil, invalid(name, "must be a sub-user id, not " .. describe(v) .. " (a path's dot segment)")
  end
  return v
end

--- The most traffic, in GB, one call takes.
M.MAX_GB = 100000

--- Traffic in whole GB: an integer from 1 to MAX_GB.
function M.gb(v, name)
  local i = integer.from(v)
  if not i or i < 1 or i > M.MAX_GB then
    return nil, invalid(name, format("must be a whole number of GB from 1 to %d, got %s", M.MAX_GB, describe(v)))
  end
  return i
end

--- A location code (country, region, city): letters, digits, - _ . only.
function M.code(v, name)
  if type(v) ~= "string" or not find(v, "^[%w._-]+$") or #v > 50 then
    return nil, invalid(name, "must be a code such as \"DE\" (letters, digits, - _ .), got " .. describe(v))
  end
  return v
end

-- { p0f_slots = 5, ... } → a list of { addon_key, qty }, sorted by key.
local function addon_items(v, name)
  if type(v) ~= "table" then
    return nil, invalid(name, "must be a table of add-on key = quantity, e.g. { p0f_slots = 5 }")
  end
  local keys = {}
  for k in pairs(v) do
    local key, err = M.addon_key(k)
    if not key then return nil, invalid(name, "has a bad add-on key: " .. err.message) end
    keys[#keys + 1] = key
  end
  table.sort(keys)
  local out = {}
  for i, key in ipairs(keys) do
    local qty, err = M.quantity(v[key], name .. "." .. key)
    if not qty then return nil, err end
    out[i] = { addon_key = key, qty = qty }
  end
  return out
end

--- Add-ons bought with a new order, for the purchase's body.
function M.addons_list(v, name)
  local list, err = addon_items(v, name)
  if not list then return nil, err end
  return require("proxyshard.wire.json").array(list)
end

--- Add-ons of a price calculation: the query's `addons_json` text.
function M.addons_json(v, name)
  local list, err = M.addons_list(v, name)
  if not list then return nil, err end
  return require("proxyshard.wire.json").encode(list)
end

-- The items of a per-IP change: a non-empty list of { ip = ..., [field] =
-- check(value) }. An IP listed twice, in any spelling, is refused: the
-- request would be ambiguous.
local function ip_items(list, field, check, what)
  if type(list) ~= "table" or list[1] == nil then
    return nil, invalid("items", "must be a non-empty list of " .. what)
  end
  if not require("proxyshard.wire.json").is_array(list) then
    return nil, invalid("items", "must be a list of " .. what)
  end
  local fields = { ip = true, [field] = true }
  local out, seen = {}, {}
  for i = 1, #list do
    local item = list[i]
    local where = format("items[%d]", i)
    if type(item) ~= "table" then return nil, invalid(where, "must be a table " .. what) end
    local unknown = options.unknown(item, fields, where)
    if unknown then return nil, unknown end
    local given, key = M.ip(item.ip, where .. ".ip")
    if not given then return nil, key end
    local value, err = check(item[field], where .. "." .. field)
    if value == nil then return nil, err end
    if seen[key] then
      return nil, invalid(where .. ".ip", "repeats " .. given .. " (listed at items[" .. seen[key] .. "])")
    end
    seen[key] = i
    out[i] = { ip = given, [field] = value }
  end
  return require("proxyshard.wire.json").array(out)
end

--- The items of a signature change: a non-empty list of {ip=, signature=}.
function M.signature_items(list)
  return ip_items(list, "signature", M.signature, "{ ip = ..., signature = ... }")
end

--- The items of a del-np change: a non-empty list of {ip=, value=boolean}.
function M.deletion_items(list)
  return ip_items(list, "value", M.boolean, "{ ip = ..., value = true|false }")
end

return M
