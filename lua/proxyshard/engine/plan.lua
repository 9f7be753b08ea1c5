--- The request plan of a row: each row compiled once (its parameters with
-- their validators, the path cut around its parameters), then, per call,
-- the caller's values gathered, each checked by its validator and put in
-- the path, the query or the body. Bad input is `nil, err` here, before
-- anything is sent.
-- @module proxyshard.engine.plan
local errors = require "proxyshard.errors"
local options = require "proxyshard.check.options"
local validate = require "proxyshard.check.validate"
local url = require "proxyshard.wire.url"
local settings = require "proxyshard.check.settings"

local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local concat = table.concat
local setmetatable = setmetatable
local format = string.format

local M = {}

-- The names a call's options may carry: the retry options and timeout,
-- the row's own (a spending row's: max_total, reconcile, settle,
-- confirm), and the row's parameters that are neither bound nor arguments
-- (such as add_bandwidth's promo_code).
local function option_names(row)
  local known = options.set(settings.CALL_OPTIONS, row.options or {})
  if row.args == "table" then return known end -- every parameter is in the table
  local taken = {}
  for _, a in ipairs(row.args) do taken[a] = true end
  for _, p in ipairs(row.params) do
    if not p.bound and p.value == nil and not taken[p.name] then known[p.name] = true end
  end
  return known
end

local cached_names = setmetatable({}, { __mode = "k" })

--- The option names of `row` (cached per row).
function M.option_names(row)
  local known = cached_names[row]
  if not known then
    known = option_names(row)
    cached_names[row] = known
  end
  return known
end

-- Speed: each row is compiled once into a plan — its parameters with
-- their validators found, the path cut into pieces around its parameters,
-- the query names already encoded — so a call only checks and joins.
local plans = setmetatable({}, { __mode = "k" })

local function compile(row)
  -- a JSON body only when the document gives the operation one (a
  -- parameter in it); renew, edit-auto-renewal and the password reset have none
  local plan = { params = {}, free = {}, body = false }
  for i, p in ipairs(row.params) do
    local check = validate[p.check]
    if not check then error("proxyshard: no validator " .. tostring(p.check) .. " for " .. row.name, 0) end
    plan.params[i] = { name = p.name, at = p.at, wire = p.wire, check = check, required = p.required,
      bound = p.bound, value = p.value, query_prefix = url.encode(p.wire) .. "=", enum = p.enum and {} }
    for _, v in ipairs(p.enum or {}) do plan.params[i].enum[v] = true end
    if not p.bound and p.value == nil then plan.free[p.name] = true end
    if p.at == "body" then plan.body = true end
  end
  -- "/orders/{order_id}/tag" → { "/orders/", <index of order_id>, "/tag" }
  local pieces, at = {}, 1
  for before, wire, after in row.path:gmatch("()({[^}]+})()") do
    pieces[#pieces + 1] = row.path:sub(at, before - 1)
    local name = wire:sub(2, -2)
    for i, p in ipairs(row.params) do if p.at == "path" and p.wire == name then pieces[#pieces + 1] = i end end
    at = after
  end
  pieces[#pieces + 1] = row.path:sub(at)
  plan.pieces = pieces
  plans[row] = plan
  return plan
end

-- The document's enum of `row`'s parameter `name`, as the row lists it.
local function row_enum(row, name)
  for _, p in ipairs(row.params) do
    if p.name == name then return p.enum end
  end
  return {}
end

-- The caller's values by parameter name: bound ones from the handle,
-- the rest from the arguments or the options.
local function gather(row, plan, bound, args, opts)
  local values = {}
  if row.args == "table" then
    local t = args[1]
    if t ~= nil and type(t) ~= "table" then
      return nil, errors.invalid("params", format("must be a table of %s's parameters", row.name))
    end
    if t then
      local unknown = options.unknown(t, plan.free, row.name .. "'s parameters")
      if unknown then return nil, unknown end
      for k, v in pairs(t) do values[k] = v end
    end
  else
    local names = row.args
    for i = 1, #names do values[names[i]] = args[i] end
  end
  for _, p in ipairs(plan.params) do
    local name = p.name
    if p.bound then
      values[name] = bound[p.bound]
    elseif p.value ~= nil then
      values[name] = p.value
    elseif opts and values[name] == nil and opts[name] ~= nil then
      values[name] = opts[name]
    end
  end
  return values
end

-- a value as the query or the path writes it
local function text(v)
  local tv = type(v)
  if tv == "boolean" then return v and "true" or "false" end
  if tv == "number" then return format("%d", v) end -- LuaJIT's tostring would write 1e+15
  return v
end

--- The request of `row` for these values: { method, path, query (encoded
-- text or nil), body, mutates, shape, auth }, and the checked values by
-- name; or nil, err (invalid_argument) and nothing sent.
function M.request(row, bound, args, opts)
  local plan = plans[row] or compile(row)
  local values, err = gather(row, plan, bound, args, opts)
  if not values then return nil, err end
  local query, body = nil, plan.body and {} or nil
  local params = plan.params
  for i = 1, #params do
    local p = params[i]
    local v = values[p.name]
    if v == nil then
      if p.required then return nil, errors.invalid(p.name, "is required") end
    else
      -- a bound value was checked when its handle was made
      if not p.bound then
        v, err = p.check(v, p.name)
        if v == nil then return nil, err end
        values[p.name] = v
      end
      if p.enum and not p.enum[v] then
        return nil, errors.invalid(p.name, format("is %s, which %s does not take (the API document allows "
          .. "only %s)", tostring(v), row.name, table.concat(row_enum(row, p.name), ", ")))
      end
      local at = p.at
      if at == "query" then
        local part = p.query_prefix .. url.encode(text(v))
        query = query and (query .. "&" .. part) or part
      elseif at == "body" then
        body[p.wire] = v
      end
    end
  end
  local pieces, path = plan.pieces
  if #pieces == 1 then
    path = pieces[1]
  else
    local out = {}
    for i = 1, #pieces do
      local piece = pieces[i]
      out[i] = type(piece) == "number" and url.encode(text(values[params[piece].name])) or piece
    end
    path = concat(out)
  end
  return {
    method = row.method, path = path, query = query, body = body,
    mutates = row.class == "write", shape = row.answer, auth = row.auth ~= false,
  }, values
end

return M
