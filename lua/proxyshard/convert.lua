--- Turn decoded JSON objects into exact Lua values, field by field.
-- A shape names each field's type:
--   "integer"  an exact integer            "count"   an exact integer >= 0
--   "money"    a money value (from cents)  "price"   a money value >= 0
--   "string"   "boolean"
--   { list = shape }    an array of objects of that shape (or of scalars:
--                       { list = "string" })
--   { object = shape }  a nested object
-- and `required = { ... }` lists the fields that must be present.
-- Fields not in the shape are left out; absent optional fields stay nil.
local integer = require "proxyshard.integer"
local money = require "proxyshard.money"

local type = type
local pairs = pairs
local ipairs = ipairs
local next = next
local format = string.format

local M = {}

local function show(v)
  if type(v) == "string" then return format("%q", v) end
  if type(v) == "number" then return format("%.17g", v) end
  return type(v)
end

local convert_object

local scalar = {}

function scalar.integer(v)
  local i, why = integer.from(v)
  if i == nil then return nil, why .. " (got " .. show(v) .. ")" end
  return i
end

function scalar.count(v)
  local i, why = scalar.integer(v)
  if i == nil then return nil, why end
  if i < 0 then return nil, "negative (got " .. show(v) .. ")" end
  return i
end

function scalar.money(v)
  -- strings are refused even when they look like numbers: the API sends
  -- integer cents, and "1.50" would be dollars or a bug
  local i, why = scalar.integer(v)
  if i == nil then return nil, "not integer cents: " .. why end
  return money.cents(i)
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

local function convert_value(v, kind, where)
  if type(kind) == "string" then
    local out, why = scalar[kind](v)
    if out == nil then return nil, "field " .. where .. ": " .. why end
    return out
  end
  if kind.object then return convert_object(v, kind.object, where) end
  if type(v) ~= "table" then
    return nil, "field " .. where .. ": not a list (got " .. show(v) .. ")"
  end
  local out = {}
  local item_kind = kind.list
  for i = 1, #v do
    local at = format("%s[%d]", where, i)
    local item, err
    if type(item_kind) == "string" then
      item, err = convert_value(v[i], item_kind, at)
    else
      item, err = convert_object(v[i], item_kind, at)
    end
    if item == nil then return nil, err end
    out[i] = item
  end
  for k in pairs(v) do
    if type(k) ~= "number" then
      return nil, "field " .. where .. ": not a list (key " .. show(k) .. ")"
    end
  end
  return out
end

function convert_object(obj, shape, where)
  if type(obj) ~= "table" or (next(obj) ~= nil and obj[1] ~= nil) then
    return nil, (where and ("field " .. where .. ": ") or "") .. "not a JSON object"
  end
  local prefix = where and (where .. ".") or ""
  local out = {}
  for name, kind in pairs(shape) do
    if name ~= "required" then
      local v = obj[name]
      if v ~= nil then
        local converted, err = convert_value(v, kind, prefix .. name)
        if converted == nil then return nil, err end
        out[name] = converted
      end
    end
  end
  for _, name in ipairs(shape.required or {}) do
    if out[name] == nil then return nil, "field " .. prefix .. name .. " is missing" end
  end
  return out
end

--- Convert `obj` by `shape`. Returns the converted table or `nil, message`.
function M.object(obj, shape)
  return convert_object(obj, shape, nil)
end

--- Convert a whole answer: an object shape, or `{ list = shape }` for an
-- answer that is a bare JSON array.
function M.answer(v, shape)
  if shape.list and next(shape, next(shape)) == nil then
    if type(v) ~= "table" or (next(v) ~= nil and v[1] == nil) then return nil, "not a JSON array" end
    return convert_value(v, shape, "answer")
  end
  return convert_object(v, shape, nil)
end

return M
