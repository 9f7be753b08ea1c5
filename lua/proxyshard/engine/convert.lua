--- Turn decoded JSON objects into exact Lua values, field by field.
-- A shape names each field's type:
--   "integer"  an exact integer, of either sign: the API document bounds
--              none of its answers' integers (over-used traffic makes
--              data_remain negative), so neither do we
--   "money"    a money value (from cents)  "price"   a money value >= 0
--              (a deliberate deviation: the document does not bound prices
--              either, but a negative total would slip under any cap)
--   "string"   "boolean"
--   { list = shape }    an array of objects of that shape (or of scalars:
--                       { list = "string" })
--   { object = shape }  a nested object
-- and `required = { ... }` lists the fields that must be present.
-- Fields not in the shape are left out; absent optional fields stay nil.
--
-- Speed: a shape is compiled once into a converter (a closure per field,
-- cached per shape table), so an answer is converted without walking the
-- shape with `pairs` or building a field's path unless it is wrong.
local integer = require "proxyshard.wire.integer"
local json = require "proxyshard.wire.json"
local is_array = json.is_array
local null = json.null -- an answer decoded with json.decode_raw keeps its nulls: absent

local type = type
local pairs = pairs
local ipairs = ipairs
local next = next
local require = require
local setmetatable = setmetatable
local format = string.format

local M = {}

local function show(v)
  if type(v) == "string" then return format("%q", v) end
  if type(v) == "number" then return format("%.17g", v) end
  return type(v)
end

-- money on first use: reading an answer without amounts needs no C module
local money_cents
local function cents(i)
  if not money_cents then money_cents = require("proxyshard.money").cents end
  return money_cents(i)
end

local scalar = {}

function scalar.integer(v)
  local i, why = integer.from(v)
  if i == nil then return nil, why .. " (got " .. show(v) .. ")" end
  return i
end

function scalar.money(v)
  -- strings are refused even when they look like numbers: the API sends
  -- integer cents, and "1.50" would be dollars or a bug
  local i, why = scalar.integer(v)
  if i == nil then return nil, "not integer cents: " .. why end
  return cents(i)
end

-- Prices are never negative: a negative total would slip under any
-- max_total, so it is refused rather than believed.
function scalar.price(v)
  local m, why = scalar.money(v)
  if m == nil then return nil, why end
  if m.cents < 0 then return nil, "a negative price (got " .. show(v) .. ")" end
  return m
end

function scalar.string(v)
  if type(v) ~= "string" then return nil, "not a string (got " .. show(v) .. ")" end
  return v
end

function scalar.boolean(v)
  if type(v) ~= "boolean" then return nil, "not a boolean (got " .. show(v) .. ")" end
  return v
end

-- A converter is function(v) -> value, or nil, path, tail: the path of the
-- field that is wrong, relative to the value converted ("addons[2].qty"),
-- and the rest of the message (": not a string (got 5)", " is missing").
-- Each level adds its part of the path on the way out, so nothing is built
-- unless something is wrong.

local compiled = setmetatable({}, { __mode = "k" })
local compile_object

local function join(name, path)
  if path == nil or path == "" then return name end
  if path:sub(1, 1) == "[" then return name .. path end
  return name .. "." .. path
end

local function compile_value(kind)
  if type(kind) == "string" then
    local check = scalar[kind]
    if not check then error("proxyshard.engine.convert: no type " .. kind .. " (a shape's mistake)", 0) end
    return function(v)
      local out, why = check(v)
      if out == nil then return nil, "", ": " .. why end
      return out
    end
  end
  if kind.object then return compile_object(kind.object) end
  local item = type(kind.list) == "string" and compile_value(kind.list) or compile_object(kind.list)
  return function(v)
    if type(v) ~= "table" then return nil, "", ": not a list (got " .. show(v) .. ")" end
    -- marked, so that an empty list is still a list when written as JSON
    local out = json.array {}
    for i = 1, #v do
      local x, path, tail = item(v[i])
      if x == nil then return nil, join(format("[%d]", i), path), tail end
      out[i] = x
    end
    for k in pairs(v) do
      if type(k) ~= "number" then return nil, "", ": not a list (key " .. show(k) .. ")" end
    end
    return out
  end
end

-- an object converter: its fields in a list, each with its converter
function compile_object(shape)
  local done = compiled[shape]
  if done then return done end
  local names, converters, required = {}, {}, shape.required or {}
  for name, kind in pairs(shape) do
    if name ~= "required" then
      names[#names + 1] = name
      converters[#converters + 1] = compile_value(kind)
    end
  end
  local n = #names
  local function convert(obj)
    -- decoded JSON objects have string keys only, so a [1] is an array's
    -- (an empty one cannot be told from {})
    if type(obj) ~= "table" or obj[1] ~= nil then
      return nil, "", ": not a JSON object"
    end
    local out = {}
    for i = 1, n do
      local name = names[i]
      local v = obj[name]
      if v ~= nil and v ~= null then
        local x, path, tail = converters[i](v)
        if x == nil then return nil, join(name, path), tail end
        out[name] = x
      end
    end
    for _, name in ipairs(required) do
      if out[name] == nil then return nil, name, " is missing" end
    end
    return out
  end
  compiled[shape] = convert
  return convert
end

-- The message of a failed conversion of a whole answer.
local function result(out, path, tail)
  if out ~= nil then return out end
  if path == "" then return nil, (tail:gsub("^: ", "")) end
  return nil, "field " .. path .. tail
end

--- Convert `obj` by `shape`. Returns the converted table or `nil, message`.
function M.object(obj, shape)
  return result(compile_object(shape)(obj))
end

local answer_lists = setmetatable({}, { __mode = "k" })

--- Convert a whole answer: an object shape, or `{ list = shape }` for an
-- answer that is a bare JSON array.
function M.answer(v, shape)
  if shape.list and next(shape, next(shape)) == nil then
    if not is_array(v) then return nil, "not a JSON array" end
    local convert = answer_lists[shape]
    if not convert then
      convert = compile_value(shape)
      answer_lists[shape] = convert
    end
    local out, path, tail = convert(v)
    if out ~= nil then return out end
    return nil, "field answer" .. path .. tail
  end
  return result(compile_object(shape)(v))
end

return M
