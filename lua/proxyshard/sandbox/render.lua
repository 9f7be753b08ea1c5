--- Writes an answer from a Lua value and the answer's shape (an operation
-- row's `answer`, in proxyshard.shapes' notation), so the sandbox answers
-- by the very shapes the client reads:
--   * only the fields of the shape are written; a nil field is left out;
--     `json.null` is written as null (handlers use it only for the fields
--     the document marks nullable, where the API writes null);
--   * "money" and "price" take integer cents or a money value, and write
--     integer cents; "price" is never negative;
--   * `{ list = ... }` is a JSON array (also when empty), and an answer
--     that is only `{ list = ... }` a bare one;
--   * a `required` field that is missing is a sandbox bug: it raises, and
--     the request is answered 500 rather than short of what it promised.
-- The text is written by proxyshard.wire.json (exact integers, sorted keys).
local json = require "proxyshard.wire.json"
local integer = require "proxyshard.wire.integer"

local null = json.null

local M = {}

local function fail(where, why)
  error(("render: %s %s"):format(where, why), 0)
end

local function as_integer(v, where)
  local i = integer.from(v)
  if i == nil then fail(where, "is not an integer: " .. tostring(v)) end
  return i
end

-- Money values come from proxyshard.money, which needs the C module; the
-- sandbox itself counts in integer cents and does not load it.
local function as_cents(v, where)
  local money = package.loaded["proxyshard.money"]
  if money and money.is(v) then return v.cents end
  return as_integer(v, where)
end

local function not_negative(n, where)
  if n < 0 then fail(where, "is negative: " .. n) end
  return n
end

local scalar = {
  integer = as_integer,
  money = as_cents,
  price = function(v, where) return not_negative(as_cents(v, where), where) end,
  string = function(v, where)
    if type(v) ~= "string" then fail(where, "is not a string: " .. tostring(v)) end
    return v
  end,
  boolean = function(v, where)
    if type(v) ~= "boolean" then fail(where, "is not a boolean: " .. tostring(v)) end
    return v
  end,
}

local object

local function value(kind, v, where)
  if v == null then return null end
  if type(kind) == "string" then return assert(scalar[kind], kind)(v, where) end
  if kind.object then return object(kind.object, v, where) end
  if type(v) ~= "table" then fail(where, "is not a list") end
  local out = json.array()
  for i = 1, #v do
    local at = ("%s[%d]"):format(where, i)
    if type(kind.list) == "string" then
      out[i] = value(kind.list, v[i], at)
    else
      out[i] = object(kind.list, v[i], at)
    end
  end
  return out
end

function object(shape, v, where)
  if type(v) ~= "table" then fail(where, "is not an object") end
  local out = {}
  for name, kind in pairs(shape) do
    if name ~= "required" and v[name] ~= nil then
      out[name] = value(kind, v[name], where .. "." .. name)
    end
  end
  for _, name in ipairs(shape.required or {}) do
    if out[name] == nil or out[name] == null then fail(where .. "." .. name, "is required") end
  end
  return out
end

local function is_bare_list(shape)
  return shape.list ~= nil and next(shape, next(shape)) == nil
end

--- The Lua value `v` as the shape says, ready for proxyshard.wire.json.
function M.value(shape, v)
  if is_bare_list(shape) then return value(shape, v, "answer") end
  return object(shape, v, "answer")
end

--- The JSON text of `v` by `shape`.
function M.answer(shape, v)
  return json.encode(M.value(shape, v))
end

return M
