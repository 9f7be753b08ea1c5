--- What every model shares. A model wraps the converted answer it is
-- given — convert makes a fresh table, so it is the model's to change:
-- fields are renamed or added on it, never copied into another table — with
-- a metatable named after it, so that it prints as one readable line; a
-- list of models prints one line per item. `success` is the protocol's,
-- not the answer's: wrapping drops it.
--
-- A result of a client whose server has echoed its token (in any
-- spelling) carries that client's redactor (`redacting`): its text, and
-- the text of every model and list inside it, shows the token as
-- "[redacted]" — in a script's tostring as in the REPL. The fields keep
-- what the server sent.
local setmetatable = setmetatable
local getmetatable = getmetatable
local rawget = rawget
local pairs = pairs
local type = type
local tostring = tostring
local concat = table.concat
local format = string.format

local M = {}

-- The redactor of each marked result, keyed weakly: nothing on the table.
local redactors = setmetatable({}, { __mode = "k" })

local function shown(self, text)
  local r = redactors[self]
  if r then return r(text) end
  return text
end

--- A model class named `name` ("proxyshard.quote"), printed by `describe`
-- (redacted when the model is marked).
function M.class(name, describe)
  local class = { __name = name }
  if describe then class.__tostring = function(self) return shown(self, describe(self)) end end
  class.__index = class
  return class
end

local MAX_DEPTH = 8

local function mark(t, redactor, depth)
  if depth > MAX_DEPTH or redactors[t] then return end
  local mt = getmetatable(t)
  -- a handle (it has `bound`) leads to its client: not a result's part
  if type(mt) == "table" and rawget(mt, "bound") then return end
  redactors[t] = redactor
  for _, v in pairs(t) do
    if type(v) == "table" then mark(v, redactor, depth + 1) end
  end
end

--- Mark `result` and the tables inside it with `redactor` (text -> text):
-- their tostring is redacted from now on. Returns `result`.
function M.redacting(result, redactor)
  if type(result) == "table" then mark(result, redactor, 0) end
  return result
end

--- The redactor `t` was marked with, or nil.
function M.redactor_of(t)
  return redactors[t]
end

--- Wrap `fields` in `class`.
function M.wrap(class, fields)
  fields.success = nil
  local wrapped = setmetatable(fields, class)
  return wrapped
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

-- The lists' metatables: the plain one and those with methods of their own.
local lists = {}

local function list_text(self)
  if #self == 0 then return "(none)" end
  local lines = {}
  for i = 1, #self do lines[i] = tostring(self[i]) end
  return shown(self, concat(lines, "\n"))
end

--- A list class named `name` with `methods` (name -> function): a list
-- that prints its items a line each, and has those methods.
function M.list_class(name, methods)
  local class = { __name = name, __tostring = list_text }
  for k, fn in pairs(methods or {}) do class[k] = fn end
  class.__index = class
  lists[class] = true
  return class
end

local List = M.list_class("proxyshard.list")

--- Wrap each item of `items` in `class`, and the list itself in a list
-- (`list_class`, default the plain one) that prints its items a line
-- each. nil stays nil.
function M.list(class, items, list_class)
  if items == nil then return nil end
  for i = 1, #items do setmetatable(items[i], class) end
  return setmetatable(items, list_class or List)
end

--- Is `t` one of these lists?
function M.is_list(t)
  return lists[getmetatable(t)] == true
end

return M
