--- What every model shares. A model wraps the converted answer it is
-- given — convert makes a fresh table, so it is the model's to change:
-- fields are renamed or added on it, never copied into another table — with
-- a metatable named after it, so that it prints as one readable line; a
-- list of models prints one line per item. `success` is the protocol's,
-- not the answer's: wrapping drops it.
local setmetatable = setmetatable
local tostring = tostring
local concat = table.concat
local format = string.format

local M = {}

--- A model class named `name` ("proxyshard.quote"), printed by `describe`.
function M.class(name, describe)
  local class = { __name = name, __tostring = describe }
  class.__index = class
  return class
end

--- Wrap `fields` in `class`.
function M.wrap(class, fields)
  fields.success = nil
  return setmetatable(fields, class)
end

--- What a spend's result says it cost, as the end of its line: " for
-- $0.60", " for $8.00 (estimated $8.00)", " for about $8.00 (estimated;
-- the charge was not seen)", and a warning when it was overcharged.
function M.cost(r)
  local text = ""
  if r.charged and r.estimated then
    text = format(" for %s (estimated %s)", tostring(r.charged), tostring(r.estimated))
  elseif r.charged then
    text = " for " .. tostring(r.charged)
  elseif r.estimated then
    text = format(" for about %s (estimated; the charge was not seen)", tostring(r.estimated))
  end
  if r.overcharged then
    text = text .. format("; OVERCHARGED: quoted %s, charged %s", tostring(r.overcharged.quoted),
      tostring(r.overcharged.charged))
  end
  return text
end

local List = { __name = "proxyshard.list" }
List.__index = List

function List:__tostring()
  if #self == 0 then return "(none)" end
  local lines = {}
  for i = 1, #self do lines[i] = tostring(self[i]) end
  return concat(lines, "\n")
end

--- Wrap each item of `items` in `class`, and the list itself in a list
-- that prints its items a line each. nil stays nil.
function M.list(class, items)
  if items == nil then return nil end
  for i = 1, #items do setmetatable(items[i], class) end
  return setmetatable(items, List)
end

--- Is `t` one of these lists?
function M.is_list(t)
  return getmetatable(t) == List
end

return M
