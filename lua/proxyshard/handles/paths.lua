--- Where a handle keeps the values it binds: for each handle of the tree
-- (proxyshard.operations), the path from the handle object to each value
-- (an add-on handle's order id is `h.order.id`), and the Lua that reads
-- one. handle:bound() and the request plans (proxyshard.engine.plan) are
-- both written from these, once, and read the handle on every call.
-- @module proxyshard.handles.paths
local operations = require "proxyshard.operations"

local ipairs = ipairs
local format = string.format
local gmatch = string.gmatch

local M = {}

--- A field path ("order.id") as its keys ({ "order", "id" }).
function M.keys(path)
  local out = {}
  for name in gmatch(path, "[^.]+") do out[#out + 1] = name end
  return out
end

local cache = {}

--- The bound values of handle `name`: { { bound name, keys } ... }, the
-- handle's own first, then its parent's and up; {} for the client.
function M.of(name)
  local out = cache[name]
  if out then return out end
  out = {}
  local node, prefix = operations.handle[name], ""
  while node and node.param do
    out[#out + 1] = { node.name, M.keys(prefix .. node.field) }
    prefix = prefix .. node.parent .. "."
    node = operations.handle[node.parent]
  end
  cache[name] = out
  return out
end

--- The keys of the bound value `bound` on handle `name`, or nil.
function M.find(name, bound)
  for _, p in ipairs(M.of(name)) do
    if p[1] == bound then return p[2] end
  end
end

--- Lua that sets the local `var` to the value at `keys` from `h` (nil
-- when a step is missing): "local v1 = h["order"]; if v1 ~= nil then ...".
function M.reader(var, h, keys)
  local out = format("local %s = %s[%q]", var, h, keys[1])
  for k = 2, #keys do
    out = out .. format("; if %s ~= nil then %s = %s[%q] end", var, var, var, keys[k])
  end
  return out
end

return M
