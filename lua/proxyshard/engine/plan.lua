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
local paths = require "proxyshard.handles.paths"

local type = type
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

-- Speed: each row is compiled once into a Lua function written for it
-- (its parameters unrolled: where each value comes from, its validator,
-- the path and query joined in one expression, the values table made by a
-- constructor), so that a call runs no loop over the row's description.
-- The source is made here from the row alone and loaded once; M.source
-- shows it.
local plans = setmetatable({}, { __mode = "k" })

-- The document's enum of `row`'s parameter `name`, as the row lists it.
local function row_enum(row, name)
  for _, p in ipairs(row.params) do
    if p.name == name then return p.enum end
  end
  return {}
end

-- a value as the query or the path writes it
local function text(v)
  local tv = type(v)
  if tv == "boolean" then return v and "true" or "false" end
  if tv == "number" then return format("%d", v) end -- LuaJIT's tostring would write 1e+15
  return v
end

-- What the generated code calls on its error paths and for the text of
-- a value: one place for each message.
local helpers = {}

function helpers.required(name)
  return nil, errors.invalid(name, "is required")
end

function helpers.not_in_enum(row, name, v)
  return nil, errors.invalid(name, format("is %s, which %s does not take (the API document allows "
    .. "only %s)", tostring(v), row.name, concat(row_enum(row, name), ", ")))
end

function helpers.params_table(row, t, free)
  if t ~= nil and type(t) ~= "table" then
    return errors.invalid("params", format("must be a table of %s's parameters", row.name))
  end
  if t then return options.unknown(t, free, row.name .. "'s parameters") end
end

-- text(v), percent-encoded; a number needs no encoding
function helpers.piece(v)
  if type(v) == "number" then return format("%d", v) end
  return url.encode(text(v))
end

helpers.encode = url.encode

-- An integer's text, exact from its digits. On Lua 5.3+ the validators
-- give integers, which `..` writes as they are; LuaJIT writes a number
-- with %.14g, exact below 10^14 (%d above).
function helpers.int(v)
  if v < 1e14 and v > -1e14 then return v .. "" end
  return format("%d", v)
end
local INTEGER_SUBTYPE = math.type ~= nil

-- The Lua expression of parameter i's text in the path or the query.
-- Speed: a checked value whose type its validator fixes (validate.GIVES)
-- is written without asking its type: an integer as above, a string
-- through the cached percent-encoding (proxyshard.wire.url).
local function piece_of(p, i)
  local v = "v" .. i
  local gives = p.value == nil and validate.GIVES[p.check]
  if gives == "integer" then return INTEGER_SUBTYPE and v or "int(" .. v .. ")" end
  if gives == "string" then return "encode(" .. v .. ")" end
  return "piece(" .. v .. ")"
end

--- How many arguments `row`'s method takes before its options: its
-- positional ones, or one table.
function M.arity(row)
  return row.args == "table" and 1 or #row.args
end

local quote = function(s) return format("%q", s) end

-- The Lua source of `row`'s request function (see M.request).
local function source(row)
  local out = {}
  local function put(...) out[#out + 1] = concat({ ... }) end
  put("local row, checks, enums, free, helpers, shape = ...")
  put("local NONE = {}")
  put("local required, not_in_enum, piece = helpers.required, helpers.not_in_enum, helpers.piece")
  put("local int, encode = helpers.int, helpers.encode")
  local n, params = M.arity(row), {}
  for i = 1, n do params[i] = ", a" .. i end
  put("return function(h, opts", concat(params), ")")
  put("  local err")
  local positional = {}
  if row.args == "table" then
    put("  local t = a1")
    put("  err = helpers.params_table(row, t, free)")
    put("  if err then return nil, err end")
    put("  t = t or NONE")
  else
    for i, name in ipairs(row.args) do positional[name] = i end
  end
  -- where each value comes from: bound, fixed, the arguments, then the options
  for i, p in ipairs(row.params) do
    local v = "v" .. i
    if p.bound then
      local keys = paths.find(row.handle, p.bound)
      if not keys then error(format("proxyshard: handle %s binds no %s for %s", row.handle, p.bound, row.name), 0) end
      put("  ", paths.reader(v, "h", keys))
    elseif p.value ~= nil then
      put("  local ", v, " = ", type(p.value) == "string" and quote(p.value) or tostring(p.value))
    else
      if row.args == "table" then
        put("  local ", v, " = t[", quote(p.name), "]")
      elseif positional[p.name] then
        put("  local ", v, " = a", positional[p.name])
      else
        put("  local ", v, " = nil")
      end
      put("  if ", v, " == nil and opts then ", v, " = opts[", quote(p.name), "] end")
    end
  end
  -- each checked in the row's order: the first bad one is the error
  local query, body, present = {}, {}, {}
  for i, p in ipairs(row.params) do
    local v = "v" .. i
    local always = p.required or p.bound or p.value ~= nil
    if p.required then
      put("  if ", v, " == nil then return required(", quote(p.name), ") end")
    end
    local lines = {}
    if not p.bound and p.value == nil then
      lines[#lines + 1] = format("%s, err = checks[%d](%s, %q); if %s == nil then return nil, err end",
        v, i, v, p.name, v)
    end
    if p.enum then
      lines[#lines + 1] = format("if not enums[%d][%s] then return not_in_enum(row, %q, %s) end", i, v, p.name, v)
    end
    if #lines > 0 then
      if always then
        for _, l in ipairs(lines) do put("  ", l) end
      else
        put("  if ", v, " ~= nil then")
        for _, l in ipairs(lines) do put("    ", l) end
        put("  end")
      end
    end
    present[i] = always
    if p.at == "query" then query[#query + 1] = i end
    if p.at == "body" then body[#body + 1] = i end
  end
  -- the query: the present values in the row's order, joined by "&"
  -- (while every value so far is always there, one expression)
  local qexpr = "nil"
  if #query > 0 then
    local fixed, i = {}, 1
    while query[i] and present[query[i]] do
      local q = query[i]
      fixed[#fixed + 1] = format("%q .. %s", (i > 1 and "&" or "") .. url.encode(row.params[q].wire) .. "=",
        piece_of(row.params[q], q))
      i = i + 1
    end
    put("  local q = ", #fixed > 0 and concat(fixed, " .. ") or "nil")
    for j = i, #query do
      local q = query[j]
      local part = format("%q .. %s", url.encode(row.params[q].wire) .. "=", piece_of(row.params[q], q))
      local add = format("q = q and (q .. \"&\" .. %s) or %s", part, part)
      if present[q] then put("  ", add) else put("  if v", q, " ~= nil then ", add, " end") end
    end
    qexpr = "q"
  end
  -- "/orders/{order_id}/tag" → "/orders/" .. piece(v1) .. "/tag"
  local path, at = {}, 1
  for before, wire, after in row.path:gmatch("()({[^}]+})()") do
    if before > at then path[#path + 1] = quote(row.path:sub(at, before - 1)) end
    local name = wire:sub(2, -2)
    for i, p in ipairs(row.params) do
      if p.at == "path" and p.wire == name then path[#path + 1] = piece_of(p, i) end
    end
    at = after
  end
  if at <= #row.path then path[#path + 1] = quote(row.path:sub(at)) end
  -- a JSON body only when the document gives the operation one (a
  -- parameter in it); renew, edit-auto-renewal and the password reset have none
  local bexpr = "nil"
  if #body > 0 then
    local fields = {}
    for _, i in ipairs(body) do fields[#fields + 1] = format("[%q] = v%d", row.params[i].wire, i) end
    bexpr = "{ " .. concat(fields, ", ") .. " }"
  end
  local values = {}
  for i, p in ipairs(row.params) do values[#values + 1] = format("[%q] = v%d", p.name, i) end
  put("  return { method = ", quote(row.method), ", path = ", #path > 0 and concat(path, " .. ") or '""',
    ", query = ", qexpr, ", body = ", bexpr, ", mutates = ", tostring(row.class == "write"),
    ", shape = shape, auth = ", tostring(row.auth ~= false), " },")
  put("    { ", concat(values, ", "), " }")
  put("end")
  return concat(out, "\n")
end

local load_text = loadstring or load -- luacheck: ignore (Lua 5.1)

local function compile(row)
  local checks, enums, free = {}, {}, {}
  for i, p in ipairs(row.params) do
    local check = validate[p.check]
    if not check then error("proxyshard: no validator " .. tostring(p.check) .. " for " .. row.name, 0) end
    checks[i] = check
    if p.enum then
      enums[i] = {}
      for _, v in ipairs(p.enum) do enums[i][v] = true end
    end
    if not p.bound and p.value == nil then free[p.name] = true end
  end
  local chunk = assert(load_text(source(row), "=proxyshard.plan(" .. row.name .. ")"))
  local fn = chunk(row, checks, enums, free, helpers, row.answer)
  plans[row] = fn
  return fn
end

--- The Lua source of `row`'s compiled request function (for a reader,
-- and the specs).
M.source = source

--- `row`'s compiled request function itself: fn(handle, opts, ...) is
-- M.request(row, handle, opts, ...) (for the engine: no call in between).
function M.of(row)
  return plans[row] or compile(row)
end

--- The request of `row` for these values: { method, path, query (encoded
-- text or nil), body, mutates, shape, auth }, and the checked values by
-- name; or nil, err (invalid_argument) and nothing sent. `handle` is the
-- row's handle (its bound values read from it, proxyshard.handles.paths:
-- each was checked when the handle was made); `opts` the call's options;
-- `...` its arguments (M.arity of them: a table row's one table).
function M.request(row, handle, opts, ...)
  return M.of(row)(handle, opts, ...)
end

return M
