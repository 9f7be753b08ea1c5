--- JSON for request and response bodies, over lua-cjson.
-- Decoding uses a private cjson instance (so the user's global cjson
-- settings are neither used nor changed) and turns `null` into nil.
-- Encoding is our own, for the bodies we send and the sandbox's answers:
-- Debian's lua-cjson prints numbers with %.14g, which loses digits above
-- 10^14, and writes an empty array as {}.
local cjson = require "cjson.safe"
local integer = require "proxyshard.wire.integer"

local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local setmetatable = setmetatable
local getmetatable = getmetatable
local sort = table.sort
local concat = table.concat
local format = string.format
local gsub = string.gsub
local byte = string.byte
local error = error
local next = next
local floor = math.floor

local M = {}

local decoder = cjson.new()
decoder.decode_max_depth(32)          -- our answers nest 4 deep at most
decoder.decode_invalid_numbers(false) -- refuse NaN/Infinity/hex literals
local null = decoder.null

-- Drop nulls: an absent field and a null field mean the same to callers,
-- and cjson.null is a truthy lightuserdata that would leak through `if x`.
local function strip_nulls(v)
  if type(v) ~= "table" then return v end
  for k, x in pairs(v) do
    if x == null then
      v[k] = nil
    else
      strip_nulls(x)
    end
  end
  return v
end

--- Decode JSON text, nulls kept as json.null (proxyshard.engine.response's fallback reads
-- them as absent): the answers' path, which need not walk the whole value
-- a second time. Returns the value, or `nil, message`.
function M.decode_raw(text)
  if type(text) ~= "string" then return nil, "no body" end
  local value, err = decoder.decode(text)
  if value == nil and err then return nil, err end
  return value
end

--- Decode JSON text. Returns the value (nulls removed), or `nil, message`.
function M.decode(text)
  local value, err = M.decode_raw(text)
  if value == nil then return nil, err end
  if value == null then return nil end
  return strip_nulls(value)
end

local array_mt = { __name = "proxyshard.json.array" }
--- The mark of a JSON array (M.array): the answers' decoder gives it to
-- every list it makes.
M.array_mt = array_mt

local tointeger = math.tointeger

--- `v` with every number made an integer where it is one, in place:
-- lua-cjson reads every JSON number as a float, and the files this library
-- writes itself (a saved plan, the record of an apply) hold integers only.
function M.integers(v)
  if type(v) == "number" then return tointeger and tointeger(v) or v end
  if type(v) ~= "table" then return v end
  for k, x in pairs(v) do v[k] = M.integers(x) end
  return v
end

--- Mark a table as a JSON array (so an empty one encodes as []).
function M.array(t)
  return setmetatable(t or {}, array_mt)
end

--- Is `t` marked as a JSON array (M.array)?
function M.is_marked(t)
  return getmetatable(t) == array_mt
end

--- Encodes as JSON null (the same value cjson decodes null to).
M.null = null

local encode_value

local function encode_number(v)
  local i = integer.from(v)
  if i == nil then
    error("proxyshard.json: cannot encode number " .. tostring(v) .. " exactly", 0)
  end
  return format("%d", i)
end

local ESCAPES = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

local function escape_char(c)
  return ESCAPES[c] or format("\\u%04x", byte(c))
end

-- Our own escaping: cjson writes every "/" as "\/", valid but noisy in paths.
local function encode_string(s)
  return '"' .. gsub(s, '[%c"\\]', escape_char) .. '"'
end

--- Is `t` an array: are its keys exactly 1..#t? An empty table is one.
-- (The one place this is decided: encoding, argument checks, answers.)
function M.is_array(t)
  if type(t) ~= "table" then return false end
  local n = #t
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k > n or k ~= floor(k) then return false end
  end
  return true
end

--- Is a Content-Type JSON: application/json or application/...+json, any
-- parameters?
function M.is_json_type(ctype)
  if ctype == "application/json" then return true end -- the usual one, without a pattern
  local mime = type(ctype) == "string" and ctype:match("^%s*([^;%s]+)")
  if not mime then return false end
  mime = mime:lower()
  return mime == "application/json" or mime:find("^application/[%w.%-]+%+json$") ~= nil
end

-- an empty table is written {} unless marked with M.array
local function encodes_as_array(t)
  if getmetatable(t) == array_mt then return true end
  return next(t) ~= nil and M.is_array(t)
end

local function encode_table(t, out)
  if encodes_as_array(t) then
    out[#out + 1] = "["
    for i = 1, #t do
      if i > 1 then out[#out + 1] = "," end
      encode_value(t[i], out)
    end
    out[#out + 1] = "]"
    return
  end
  local keys = {}
  for k in pairs(t) do
    if type(k) ~= "string" then
      error("proxyshard.json: object keys must be strings", 0)
    end
    keys[#keys + 1] = k
  end
  sort(keys) -- a stable order makes bodies comparable in tests and logs
  out[#out + 1] = "{"
  for i, k in ipairs(keys) do
    if i > 1 then out[#out + 1] = "," end
    out[#out + 1] = encode_string(k)
    out[#out + 1] = ":"
    encode_value(t[k], out)
  end
  out[#out + 1] = "}"
end

function encode_value(v, out)
  local tv = type(v)
  if tv == "string" then
    out[#out + 1] = encode_string(v)
  elseif tv == "number" then
    out[#out + 1] = encode_number(v)
  elseif tv == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif v == null then
    out[#out + 1] = "null"
  elseif tv == "table" then
    encode_table(v, out)
  else
    error("proxyshard.json: cannot encode a " .. tv, 0)
  end
end

--- Encode strings, exact integers, booleans, json.null, arrays (sequences
-- or json.array) and objects (string keys, written sorted). Raises on
-- anything else, fractions included: every number this library and its
-- sandbox write is an integer.
function M.encode(value)
  local out = {}
  encode_value(value, out)
  return concat(out)
end

return M
