--- Argument checks run before any request. Each returns the normalised
-- value, or `nil, err` with an `invalid_argument` error naming the argument.
local errors = require "proxyshard.errors"
local integer = require "proxyshard.integer"

local type = type
local tostring = tostring
local tonumber = tonumber
local ipairs = ipairs
local pairs = pairs
local floor = math.floor
local find = string.find
local format = string.format

local invalid = errors.invalid

local M = {}

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

--- An add-on key such as "p0f_slots".
function M.addon_key(v)
  if type(v) ~= "string" or not find(v, "^[a-z0-9_]+$") or #v > 64 then
    return nil, invalid("addon_key", "must match [a-z0-9_]+, got " .. describe(v))
  end
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

--- An OS signature from the API's enum.
function M.signature(v, name)
  if not signature_set[v] then
    return nil, invalid(name or "signature", "must be one of "
      .. table.concat(M.SIGNATURES, ", ") .. ", got " .. describe(v))
  end
  return v
end

local function ipv4(s)
  local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return false end
  for _, part in ipairs({ a, b, c, d }) do
    -- a leading zero reads as octal to some parsers: refuse the ambiguity
    if #part > 3 or (#part > 1 and part:sub(1, 1) == "0") or tonumber(part) > 255 then
      return false
    end
  end
  return true
end

local function hex_groups(s)
  -- `s` is a ":"-separated run of 1–4 digit hex groups (possibly empty)
  if s == "" then return 0 end
  local count = 0
  for group in (s .. ":"):gmatch("(.-):") do
    if not group:find("^%x%x?%x?%x?$") then return nil end
    count = count + 1
  end
  return count
end

local function ipv6(s)
  if #s > 45 or not s:find(":") then return false end
  local groups_wanted = 8
  -- a trailing dotted quad stands for the last two groups
  local head, quad = s:match("^(.*:)(%d+%.%d+%.%d+%.%d+)$")
  if head then
    if not ipv4(quad) then return false end
    s = head:sub(-2) == "::" and head or head:sub(1, -2)
    groups_wanted = 6
  end
  local first, rest = s:match("^(.-)::(.*)$")
  if first then
    if rest:find("::", 1, true) then return false end
    local n1, n2 = hex_groups(first), hex_groups(rest)
    return n1 ~= nil and n2 ~= nil and n1 + n2 < groups_wanted
  end
  return hex_groups(s) == groups_wanted
end

--- An IPv4 or IPv6 literal (no zone index, no brackets, no port).
function M.ip(v, name)
  if type(v) == "string" and (ipv4(v) or ipv6(v)) then return v end
  return nil, invalid(name or "ip", "must be an IPv4 or IPv6 address, got " .. describe(v))
end

--- The items of a signature change: a non-empty list of {ip=, signature=}.
-- An IP listed twice is refused: the request would be ambiguous.
function M.signature_items(list)
  if type(list) ~= "table" or list[1] == nil then
    return nil, invalid("items", "must be a non-empty list of { ip = ..., signature = ... }")
  end
  local n = #list
  local out, seen = {}, {}
  for k in pairs(list) do
    if type(k) ~= "number" or k < 1 or k > n or k ~= floor(k) then
      return nil, invalid("items", "must be a list (found key " .. describe(k) .. ")")
    end
  end
  for i = 1, n do
    local item = list[i]
    local where = format("items[%d]", i)
    if type(item) ~= "table" then
      return nil, invalid(where, "must be a table { ip = ..., signature = ... }")
    end
    local ip, err = M.ip(item.ip, where .. ".ip")
    if not ip then return nil, err end
    local sig
    sig, err = M.signature(item.signature, where .. ".signature")
    if not sig then return nil, err end
    local key = ip:lower()
    if seen[key] then
      return nil, invalid(where .. ".ip", "repeats " .. ip .. " (listed at items[" .. seen[key] .. "])")
    end
    seen[key] = i
    out[i] = { ip = ip, signature = sig }
  end
  return out
end

return M
