--- Command-line text to the values the library takes, by the kind a
-- parameter's check names (proxyshard.cli.commands.ARG_TYPES). Text that
-- does not read as the kind is passed on as it is: the library's validator
-- then refuses it with its own message (an invalid_argument, exit 2).
-- @module proxyshard.cli.values
local errors = require "proxyshard.errors"

local tonumber = tonumber
local tointeger = math.tointeger
local find = string.find
local match = string.match
local gmatch = string.gmatch
local lower = string.lower
local format = string.format

local M = {}

local TRUE = { ["true"] = true, yes = true, on = true, ["1"] = true }
local FALSE = { ["false"] = true, no = true, off = true, ["0"] = true }

--- "12" → 12; anything else as given.
function M.integer(text)
  if find(text, "^%d+$") then return tointeger(tonumber(text)) or text end
  return text
end

--- "2.5" → 2.5; anything else as given.
function M.number(text)
  return tonumber(text) or text
end

--- true|yes|on|1 and false|no|off|0 → a boolean; anything else as given.
function M.boolean(text)
  local t = lower(text)
  if TRUE[t] then return true end
  if FALSE[t] then return false end
  return text
end

--- Dollars: "5" is "5.00", "-5" "-5.00" (on the command line an amount
-- is always dollars, never cents: the validator then refuses a negative
-- one as such); other text as given, for proxyshard.money to read.
function M.dollars(text)
  if find(text, "^%-?%d+$") then return text .. ".00" end
  return text
end

--- Text, as given.
function M.text(text)
  return text
end

-- IP=VALUE words → { { ip = ..., [field] = value(VALUE) }, ... }
local function pairs_of(words, name, field, value, what)
  local items = {}
  for i, word in ipairs(words) do
    local ip, v = match(word, "^([^=]+)=(.*)$")
    if not ip then
      return nil, errors.invalid(format("%s[%d]", name, i), format("must be %s, got %q", what, word))
    end
    items[i] = { ip = ip, [field] = value(v) }
  end
  return items
end

--- IP=SIGNATURE words → set_signatures' items.
function M.signature_items(words, name)
  return pairs_of(words, name, "signature", M.text, "IP=SIGNATURE (203.0.113.7=win11)")
end

--- IP=true|false words → set_deletion's items.
function M.deletion_items(words, name)
  return pairs_of(words, name, "value", M.boolean, "IP=true|false (203.0.113.7=true)")
end

--- "p0f_slots=5,other=2" → { p0f_slots = 5, other = 2 }.
function M.addons(text, name)
  local t = {}
  for item in gmatch(text, "[^,]+") do
    local key, n = match(item, "^%s*([^=%s]+)%s*=%s*(%S+)%s*$")
    if not key then
      return nil, errors.invalid(name, format("must be KEY=N[,KEY=N...] (p0f_slots=5), got %q", text))
    end
    t[key] = M.integer(n)
  end
  return t
end

--- Convert `value` (text, or a list of words for the `many` kinds) by the
-- conversion named `how`: the value, or nil and an invalid_argument error.
function M.convert(how, value, name)
  if value == nil then return nil end
  local fn = M[how] or M.text
  return fn(value, name)
end

return M
