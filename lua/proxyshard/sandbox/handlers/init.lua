--- The sandbox's handlers, one per operation of proxyshard.operations,
-- keyed "handle.name" (`order.fetch`, `sub_user.fetch`: a name alone is not
-- unique). Split by area under proxyshard/sandbox/handlers/. A handler is
-- `function(sb, values, req)`: `values` are the request's parameters by
-- their Lua names, already checked (proxyshard.sandbox.params); it returns
-- the answer as a Lua value, rendered by the row's `answer` shape — or, for
-- a row whose answer is no JSON (`answer = false`), the response itself.
local AREAS = { "account", "orders", "proxies", "addons", "residential", "locations", "health" }

local M = {}

local by_key = {}
for _, area in ipairs(AREAS) do
  for key, fn in pairs(require("proxyshard.sandbox.handlers." .. area)) do
    assert(by_key[key] == nil, "two handlers for " .. key)
    by_key[key] = fn
  end
end

function M.key(row)
  return row.handle .. "." .. row.name
end

--- The handler of `row`, or nil.
function M.for_row(row)
  return by_key[M.key(row)]
end

--- The keys of every handler (for the specs: one per row, no more).
function M.keys()
  local out = {}
  for key in pairs(by_key) do out[#out + 1] = key end
  table.sort(out)
  return out
end

return M
