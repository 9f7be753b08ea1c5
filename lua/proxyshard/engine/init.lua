--- One call of a row: the request made by its plan (proxyshard.engine.plan),
-- sent through the call loop (proxyshard.engine.call) under the Call the
-- public call began, and the converted answer wrapped in the row's model.
-- Every generated method goes through `run` and `invoke`, every spending
-- one through proxyshard.flows.spend, which uses the plan, the call loop
-- and `wrap`.
-- @module proxyshard.engine
local calls = require "proxyshard.engine.call"
local plan = require "proxyshard.engine.plan"

local require = require
local setmetatable = setmetatable

local M = {}

-- What a model gave, passed on: one value, or with `row.also` a second
-- (proxies' order tag); its refusal (nil, err) of a write's answer is an
-- unknown outcome: the server did something we cannot read
-- (proxyshard.engine.response's rule). (Not a vararg function: LuaJIT
-- cannot compile a return through one to a frame its trace did not start
-- in; spec/jit_trace_spec.lua.)
local function refused(row, out, err)
  if out ~= nil then
    if row.also then return out, err end
    return out -- (one value: print(h:info()) shows no nil)
  end
  if row.class ~= "write" then return nil, err end
  local where = { method = row.method, path = err.path or row.path }
  return nil, require("proxyshard.engine.response").unreadable(
    { method = row.method, path = where.path, mutates = true }, {}, err.message, where)
end

--- The row's model around a converted answer (what the model returns: a
-- value, and for some calls more, such as proxies' order tag). A model may
-- refuse an answer (nil, err): a quote for another add-on than the one
-- asked; for a write that is an unknown outcome.
local models = setmetatable({}, { __mode = "k" }) -- row → its model module, found once

function M.wrap(handle, row, r, values)
  local result = r
  if row.result then result = r[row.result] end
  if row.model == nil then return result end
  local model = models[row]
  if not model then
    model = require("proxyshard.model." .. row.model)
    models[row] = model
  end
  return refused(row, model.new(result, values, handle, row))
end

--- The most arguments a row's method takes (plan.arity): `run` and
-- `invoke` pass them as a1..a3, not as a vararg, for LuaJIT (see refused).
M.MAX_ARGS = 3

--- Send `row` for `handle` once under `call` (the Call it runs under,
-- engine.call.begin) with the call's arguments a1..a3 (the method's, opts
-- left out: a table row's one table), and wrap the answer in its model;
-- or nil, err.
function M.invoke(handle, row, call, a1, a2, a3)
  if handle.error then return nil, handle.error end
  local req, values = plan.of(row)(handle, call.opts, a1, a2, a3)
  if not req then return nil, values end
  -- the client is its own handle
  local r, err = calls.perform(handle.client or handle, req, call)
  if r == nil then return nil, err end
  return M.wrap(handle, row, r, values)
end

--- A generated method's call: h:<row.name>(args..., opts) — begin (the
-- options checked once), then invoke with the arguments a1..a3.
function M.run(handle, row, opts, a1, a2, a3)
  if handle.error then return nil, handle.error end
  -- (no options, the usual call: no names to check them against)
  local call, err = calls.begin(handle.client or handle, opts, opts ~= nil and plan.option_names(row) or nil)
  if not call then return nil, err end
  return M.invoke(handle, row, call, a1, a2, a3)
end

return M
