--- The desired-state file: what `proxyshard plan` / `apply` and
-- proxyshard.plan make true. A data-only Lua file (`return { ... }`,
-- loaded with no globals, no string methods and a bounded amount of work,
-- so it can describe but not do) or JSON (a `.json` file, or text that
-- starts with `{`). Checked strictly: an unknown key is refused with the
-- closest known name, every value by the library's own validators, and
-- nothing is read from the API before the whole file is good.
--
--   return {
--     orders = {
--       { order = 12345, min_free_p0f = 2, tag = "scrapers", auto_renewal = true,
--         signatures = { ["203.0.113.11"] = "win11" }, del_np = { ["203.0.113.14"] = true } },
--       { tagged = "fleet", signature = "linux", renew_within_days = 3 },
--     },
--     residential = {
--       premium = { sub_users = { { name = "team-a", min_remaining_gb = 10 } } },
--     },
--   }
--
-- docs/desired-state.md describes every key.
-- @module proxyshard.desired.file
local errors = require "proxyshard.errors"
local validate = require "proxyshard.check.validate"
local options = require "proxyshard.check.options"
local ip = require "proxyshard.wire.ip"

local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local format = string.format
local sort = table.sort
local concat = table.concat

local M = {}

M.MAX_BYTES = 1048576 -- 1 MiB: a desired state is a page or two
M.MAX_STEPS = 1000000 -- VM instructions a Lua file may take to build its table
M.MAX_MEMORY_KB = 65536 -- and memory it may take on top of what Lua had (64 MiB)

--- The keys of each part, with what each means (docs and --help).
M.TOP = { orders = "a list of order entries", residential = "proxy type → { sub_users = { ... } }" }
M.ORDER = {
  order = "the order's id (or `tagged`)",
  tagged = "every order carrying this tag that is not cancelled (or `order`)",
  min_free_p0f = "free p0f slots at least N (the missing ones are bought)",
  signature = "one OS signature for every IP of the order",
  signatures = "OS signature per IP: { [\"203.0.113.11\"] = \"win11\" } (with `order` only)",
  tag = "the order's tag (with `order` only)",
  auto_renewal = "auto-renewal on (true) or off (false)",
  del_np = "per-IP deletion flags: { [\"203.0.113.14\"] = true } (with `order` only)",
  renew_within_days = "renew the order (on hold) when its date is within D days, or past",
}
M.RESIDENTIAL = { sub_users = "a list of { name, min_remaining_gb }" }
M.SUB_USER = { name = "the sub-user's name",
  min_remaining_gb = "traffic left at least N GB (topped up from the owner)" }

local function bad(where, message)
  return errors.invalid(where, message)
end

-- The first key of `t` not in `known`, as an error naming the closest one.
local function unknown(t, known, where)
  local names, stray = {}, nil
  for k in pairs(known) do names[k] = true end
  for k in pairs(t) do
    if not known[k] and (stray == nil or tostring(k) < tostring(stray)) then stray = k end
  end
  if stray == nil then return nil end
  local hint = type(stray) == "string" and options.closest(stray, names)
  local list = {}
  for k in pairs(known) do list[#list + 1] = k end
  sort(list)
  return bad(where, format("has an unknown key %s (%s)", type(stray) == "string" and format("%q", stray)
    or tostring(stray), hint and format("did you mean %q?", hint) or "known: " .. concat(list, ", ")))
end

local function is_list(t)
  if type(t) ~= "table" then return false end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  for i = 1, n do
    if t[i] == nil then return false end
  end
  return true
end

-- A map IP → value, checked by `check`, keyed by the IP's canonical
-- spelling; two spellings of one IP are refused.
local function ip_map(t, where, check)
  if type(t) ~= "table" or (is_list(t) and #t > 0) then
    return nil, bad(where, 'must be a map of IP to value: { ["203.0.113.7"] = ... }')
  end
  local out, n = {}, 0
  for k, v in pairs(t) do
    local key = type(k) == "string" and ip.canonical(k)
    if not key then return nil, bad(where, format("has %s, which is not an IP address", tostring(k))) end
    if out[key] ~= nil then return nil, bad(where, format("names the IP %s twice", key)) end
    local value, err = check(v, format("%s[%q]", where, k))
    if value == nil then return nil, err end
    out[key] = value
    n = n + 1
  end
  if n == 0 then return nil, bad(where, "is empty (leave it out instead)") end
  return out
end

local function non_negative(v, name)
  return validate.quantity(v, name, 0)
end

local function order_entry(t, i)
  local where = format("orders[%d]", i)
  if type(t) ~= "table" then return nil, bad(where, "must be a table, e.g. { order = 12345, tag = \"x\" }") end
  local err = unknown(t, M.ORDER, where)
  if err then return nil, err end
  local e = { entry = i }
  if (t.order == nil) == (t.tagged == nil) then
    return nil, bad(where, "needs exactly one of `order` (an id) and `tagged` (a tag)")
  end
  local ok
  if t.order ~= nil then
    e.order, err = validate.id(t.order, where .. ".order")
    if not e.order then return nil, err end
  else
    e.tagged, err = validate.text(t.tagged, where .. ".tagged")
    if not e.tagged then return nil, err end
    for _, only in ipairs({ "signatures", "tag", "del_np" }) do
      if t[only] ~= nil then
        return nil, bad(where .. "." .. only, "needs `order`: it cannot be the same for every order carrying a tag")
      end
    end
  end
  if t.min_free_p0f ~= nil then
    e.min_free_p0f, err = non_negative(t.min_free_p0f, where .. ".min_free_p0f")
    if not e.min_free_p0f then return nil, err end
  end
  if t.renew_within_days ~= nil then
    e.renew_within_days, err = non_negative(t.renew_within_days, where .. ".renew_within_days")
    if not e.renew_within_days then return nil, err end
  end
  if t.signature ~= nil then
    if t.signatures ~= nil then return nil, bad(where, "has both `signature` and `signatures`: give one") end
    e.signature, err = validate.signature(t.signature, where .. ".signature")
    if not e.signature then return nil, err end
  end
  if t.signatures ~= nil then
    e.signatures, err = ip_map(t.signatures, where .. ".signatures", validate.signature)
    if not e.signatures then return nil, err end
  end
  if t.del_np ~= nil then
    e.del_np, err = ip_map(t.del_np, where .. ".del_np", validate.boolean)
    if not e.del_np then return nil, err end
  end
  if t.tag ~= nil then
    e.tag, err = validate.tag(t.tag, where .. ".tag")
    if e.tag == nil then return nil, err end
  end
  if t.auto_renewal ~= nil then
    ok, err = validate.boolean(t.auto_renewal, where .. ".auto_renewal")
    if ok == nil then return nil, err end
    e.auto_renewal = t.auto_renewal
  end
  return e
end

local function sub_users(list, where)
  if not is_list(list) then return nil, bad(where, "must be a list of { name = ..., min_remaining_gb = N }") end
  local out, seen = {}, {}
  for i, t in ipairs(list) do
    local at = format("%s[%d]", where, i)
    if type(t) ~= "table" then return nil, bad(at, "must be a table: { name = \"team-a\", min_remaining_gb = 5 }") end
    local err = unknown(t, M.SUB_USER, at)
    if err then return nil, err end
    local name
    name, err = validate.text(t.name, at .. ".name")
    if not name then return nil, err end
    if seen[name] then return nil, bad(at .. ".name", format("%q is listed twice", name)) end
    seen[name] = true
    local s = { name = name }
    if t.min_remaining_gb ~= nil then
      s.min_remaining_gb, err = non_negative(t.min_remaining_gb, at .. ".min_remaining_gb")
      if not s.min_remaining_gb then return nil, err end
    end
    out[i] = s
  end
  return out
end

--- Check a desired state given as a table (a file's, or a caller's own):
-- the normalised desired state { orders = { entry... }, residential = {
-- { proxy_type, sub_users = { { name, min_remaining_gb } } } } }, or nil, err.
function M.check(t)
  if type(t) ~= "table" then return nil, bad("desired", "must be a table: { orders = { ... }, residential = ... }") end
  local err = unknown(t, M.TOP, "desired")
  if err then return nil, err end
  local out = { orders = {}, residential = {} }
  if t.orders ~= nil then
    if not is_list(t.orders) then return nil, bad("orders", "must be a list of order entries") end
    for i, o in ipairs(t.orders) do
      local e
      e, err = order_entry(o, i)
      if not e then return nil, err end
      out.orders[i] = e
    end
  end
  if t.residential ~= nil then
    if type(t.residential) ~= "table" or (is_list(t.residential) and #t.residential > 0) then
      return nil, bad("residential", "must be a map of proxy type to { sub_users = { ... } }")
    end
    local types = {}
    for k in pairs(t.residential) do
      local pt
      pt, err = validate.proxy_type(k, "residential")
      if not pt then return nil, err end
      types[#types + 1] = pt
    end
    sort(types)
    for _, pt in ipairs(types) do
      local r, where = t.residential[pt], "residential." .. pt
      if type(r) ~= "table" then return nil, bad(where, "must be a table: { sub_users = { ... } }") end
      err = unknown(r, M.RESIDENTIAL, where)
      if err then return nil, err end
      local users
      users, err = sub_users(r.sub_users or {}, where .. ".sub_users")
      if not users then return nil, err end
      out.residential[#out.residential + 1] = { proxy_type = pt, sub_users = users }
    end
  end
  return out
end

-- Only plain data may come out of a file: no functions, no metatables.
local function plain(v, where, depth)
  local tv = type(v)
  if tv == "string" or tv == "number" or tv == "boolean" then return true end
  if v == require("proxyshard.wire.json").null then
    return nil, bad(where, "holds a null: leave the key out instead")
  end
  if tv ~= "table" or getmetatable(v) ~= nil or depth > 16 then
    return nil, bad(where, "holds a " .. (tv == "table" and "table nested too deep, or with a metatable" or tv)
      .. ": a desired-state file is data only")
  end
  for k, x in pairs(v) do
    local ok, err = plain(k, where, depth + 1)
    if not ok then return nil, err end
    ok, err = plain(x, where, depth + 1)
    if not ok then return nil, err end
  end
  return true
end

-- The value a data-only Lua chunk returns: no globals, no string methods
-- (`("x"):rep(1e9)`), at most M.MAX_STEPS instructions.
local function run_lua(text, name)
  local chunk, err
  local setfenv, loadstring = rawget(_G, "setfenv"), rawget(_G, "loadstring")
  if setfenv then -- Lua 5.1, LuaJIT
    if text:byte(1) == 27 then return nil, "is precompiled: give the source" end
    chunk, err = loadstring(text, "=" .. name)
    if chunk then setfenv(chunk, {}) end
  else
    chunk, err = load(text, "=" .. name, "t", {})
  end
  if not chunk then return nil, err end
  local jit = rawget(_G, "jit")
  if jit then jit.off(chunk, true) end -- count hooks do not run in compiled code
  local strings = getmetatable("")
  local methods = strings.__index
  local co = coroutine.create(chunk)
  -- checked at every instruction (a data file takes a few thousand): a
  -- loop, or a string doubled until the memory runs out, is stopped early
  local steps, ceiling = 0, collectgarbage("count") + M.MAX_MEMORY_KB
  local running = coroutine.running
  debug.sethook(co, function()
    if running() ~= co then return end -- LuaJIT: the hook is the whole VM's
    steps = steps + 1
    if steps > M.MAX_STEPS then error("takes too long to run: it should only return a table", 0) end
    if collectgarbage("count") > ceiling then error("takes too much memory: it should only return a table", 0) end
  end, "", 1)
  strings.__index = nil
  local ok, value = coroutine.resume(co)
  debug.sethook(co)
  strings.__index = methods
  if not ok then return nil, tostring(value) end
  if coroutine.status(co) ~= "dead" then return nil, "yields: it should only return a table" end
  return value
end

--- Read a desired state from `text` (`name` for messages; `as` = "json"
-- or "lua", default: JSON when the text starts with `{`). Returns the
-- normalised desired state (M.check), or nil, err.
function M.parse(text, name, as)
  if #text > M.MAX_BYTES then
    return nil, bad(name, format("is %d bytes, more than a desired state takes (%d)", #text, M.MAX_BYTES))
  end
  as = as or (text:match("^%s*{") and "json" or "lua")
  local value
  if as == "json" then
    local decoded = require("proxyshard.wire.json").decode_raw(text)
    if decoded == nil then return nil, bad(name, "is not valid JSON") end
    value = decoded
  else
    local why
    value, why = run_lua(text, name)
    if value == nil then
      return nil, bad(name, format("cannot be loaded as a data-only Lua file: %s", why or "it returns nothing"))
    end
  end
  if type(value) ~= "table" then
    return nil, bad(name, "must return a table: { orders = { ... }, residential = { ... } }")
  end
  local ok, err = plain(value, name, 0)
  if not ok then return nil, err end
  return M.check(value)
end

--- Read the desired-state file at `path`: M.parse's results.
function M.load(path)
  if type(path) ~= "string" or path == "" then return nil, bad("file", "must be a path") end
  local f, why = io.open(path, "rb")
  if not f then return nil, bad("file", format("cannot be read: %s", tostring(why))) end
  local text = f:read(M.MAX_BYTES + 1) or ""
  f:close()
  return M.parse(text, path, path:match("%.json$") and "json" or nil)
end

return M
