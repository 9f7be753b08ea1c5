--- The one engine behind every API call: a row of proxyshard.operations and
-- the caller's arguments become a request (each parameter checked by its
-- validator and put in the path, the query or the body), the request goes
-- through the client's retry and answer path, and the converted answer is
-- wrapped in the row's model. Handles get their methods from `bind`.
local errors = require "proxyshard.errors"
local options = require "proxyshard.options"
local validate = require "proxyshard.validate"
local url = require "proxyshard.url"
local settings = require "proxyshard.settings"

local type = type
local select = select
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local require = require
local gsub = string.gsub
local format = string.format

local M = {}

-- The names a call's options may carry: the retry options and timeout,
-- the row's parameters that are neither bound nor arguments (such as
-- add_bandwidth's promo_code), and a flow's own (`extra`).
local function option_names(row, extra)
  local known = options.set(settings.CALL_OPTIONS, extra or {})
  local taken = {}
  if type(row.args) == "table" then for _, a in ipairs(row.args) do taken[a] = true end end
  for _, p in ipairs(row.params) do
    if not p.bound and p.value == nil and not taken[p.name] and row.args ~= "table" then known[p.name] = true end
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

-- The caller's values by parameter name: bound ones from the handle,
-- the rest from the arguments or the options.
local function gather(row, bound, args, opts)
  local values = {}
  if row.args == "table" then
    local t = args[1]
    if t ~= nil and type(t) ~= "table" then
      return nil, errors.invalid("params", format("must be a table of %s's parameters", row.name))
    end
    t = t or {}
    local known = {}
    for _, p in ipairs(row.params) do if not p.bound and p.value == nil then known[p.name] = true end end
    local unknown = options.unknown(t, known, row.name .. "'s parameters")
    if unknown then return nil, unknown end
    for k, v in pairs(t) do values[k] = v end
  else
    for i, name in ipairs(row.args) do values[name] = args[i] end
  end
  if opts then
    for _, p in ipairs(row.params) do
      if opts[p.name] ~= nil and not p.bound and values[p.name] == nil then values[p.name] = opts[p.name] end
    end
  end
  for _, p in ipairs(row.params) do
    if p.bound then values[p.name] = bound[p.bound] end
    if p.value ~= nil then values[p.name] = p.value end
  end
  return values
end

local function query_value(v)
  if type(v) == "boolean" then return v and "true" or "false" end
  return v
end

--- The request of `row` for these values: { method, path, query, body,
-- mutates, shape, auth }, or nil, err (invalid_argument) and nothing sent.
function M.request(row, bound, args, opts)
  local values, err = gather(row, bound, args, opts)
  if not values then return nil, err end
  local path, query, body = row.path, {}, nil
  if row.method ~= "GET" and row.method ~= "DELETE" then body = {} end
  for _, p in ipairs(row.params) do
    local v = values[p.name]
    if v == nil then
      if p.required then return nil, errors.invalid(p.name, "is required") end
    else
      local check = validate[p.check]
      if not check then error("proxyshard: no validator " .. tostring(p.check) .. " for " .. row.name, 0) end
      v, err = check(v, p.name)
      if v == nil then return nil, err end
      values[p.name] = v
      if p.at == "path" then
        path = gsub(path, "{" .. p.wire .. "}", url.encode(query_value(v)))
      elseif p.at == "query" then
        query[#query + 1] = { p.wire, query_value(v) }
      else
        body = body or {}
        body[p.wire] = v
      end
    end
  end
  return {
    method = row.method, path = path, query = query, body = body,
    mutates = row.class == "write", shape = row.answer, auth = row.auth ~= false,
  }, values
end

--- Send `row` for `handle` once: the converted answer, the checked values
-- by name; or nil, err. `call` is a Call (client:begin) or the caller's opts.
function M.send(handle, row, args, call)
  if handle.error then return nil, handle.error end
  local client = handle.client or handle -- the client is its own handle
  local cerr
  call, cerr = client:begin(call, M.option_names(row))
  if not call then return nil, cerr end
  local req, values = M.request(row, handle:bound(), args, call.opts)
  if not req then return nil, values end
  local r, err = client:call(req, call)
  if r == nil then return nil, err end
  return r, values
end

--- The row's model around a converted answer. A model may refuse an
-- answer (nil, err): a quote for another add-on than the one asked.
function M.wrap(handle, row, r, values)
  local result = r
  if row.result then result = r[row.result] end
  if row.model == nil then return result end
  local model = require("proxyshard.model." .. row.model)
  return model.new(result, { values = values, handle = handle, row = row, answer = r })
end

--- Send `row` for `handle` and wrap the answer in its model.
function M.invoke(handle, row, args, call)
  local r, values = M.send(handle, row, args, call)
  if r == nil then return nil, values end
  return M.wrap(handle, row, r, values)
end

--- Give `class` a method for every row of `handle_name` that is not a flow.
-- Positional rows take (args..., opts); table rows take (params, opts).
function M.bind(class, handle_name)
  for _, row in ipairs(require("proxyshard.operations").by_handle[handle_name] or {}) do
    if not row.flow then
      local n = row.args == "table" and 1 or #row.args
      class[row.name] = function(self, ...)
        return M.invoke(self, row, { ... }, (select(n + 1, ...)))
      end
    end
  end
end

return M
