--- proxyshard.plan(client, desired [, opts]): what it takes to make a
-- desired state true (proxyshard.desired.file) — the account read
-- (proxyshard.desired.observe), the actions (proxyshard.desired.diff),
-- each spending one priced (the API's quote, or an estimate where the API
-- quotes none, marked so), the total, the drift since the last apply
-- (proxyshard.desired.record) and notes. Nothing is changed by a plan.
--
--   local plan = assert(proxyshard.plan(client, "desired-state.lua"))
--   print(plan)                      -- for people
--   if plan:changes() > 0 then
--     local report = plan:apply { max_total = "10.00" }
--   end
--
-- opts: concurrency (reads at once, default 8), state_dir (where the
-- record of the last apply is; default the client's), now (seconds since
-- the epoch, for renew_within_days; default the clock).
-- A plan saved (plan:save(path), `proxyshard plan --out`) holds the
-- desired state, the actions with their prices and the digest of the state
-- it was made from; proxyshard.desired.plan.load reads it back, and apply
-- refuses it once the account has changed since (a stale plan).
-- @module proxyshard.desired.plan
local errors = require "proxyshard.errors"
local json = require "proxyshard.wire.json"
local file = require "proxyshard.desired.file"
local observe = require "proxyshard.desired.observe"
local diff = require "proxyshard.desired.diff"
local record = require "proxyshard.desired.record"
local state = require "proxyshard.jobs.state"
local options = require "proxyshard.check.options"

local type = type
local ipairs = ipairs
local pairs = pairs
local tostring = tostring
local setmetatable = setmetatable
local format = string.format
local concat = table.concat

local M = {}

M.FORMAT = "proxyshard-plan"
M.VERSION = 1

M.OPTIONS = options.set({ "concurrency", "state_dir", "now" })

local function money() return require "proxyshard.money" end

local Plan = {}
Plan.__index = Plan
Plan.__name = "proxyshard.plan"

-- The price of one spending action `a`, on it: a.price (money, or nil),
-- a.estimate, a.price_note. nil, err when it could not be asked.
local function price_one(client, a)
  local order = client:order(a.order_id)
  if a.kind == "buy_p0f" then
    local quote, err = order:addon("p0f_slots"):quote(a.qty)
    if not quote then return nil, err end
    a.price = quote.total
    if a.price == nil then a.price_note = "the quote gave no add_total" end
    return true
  end
  -- a renewal: the API quotes none; the spending flow's own estimate
  local calls = require "proxyshard.engine.call"
  local p, err = require("proxyshard.flows.price").renewal(order, nil, nil, calls.begin(client))
  if not p then return nil, err end
  a.price, a.estimate = p.total, true
  if p.total == nil then a.price_note = p.why end
  return true
end

--- Price the spending actions of `actions`, several at a time: true, or
-- the first error.
-- @local
function M.price(client, actions, concurrency)
  local spending = {}
  for _, a in ipairs(actions) do
    if a.spends then spending[#spending + 1] = a end
  end
  return observe.all(client, spending, function(a) return price_one(client, a) end, concurrency)
end

--- The sum of the actions' prices: total (money), estimated (any estimate
-- in it), unpriced (how many spending actions have no price).
function M.total(actions)
  local total, estimated, unpriced = money().zero, false, 0
  for _, a in ipairs(actions) do
    if a.spends then
      if a.price then total = total + a.price else unpriced = unpriced + 1 end
      if a.estimate then estimated = true end
    end
  end
  return total, estimated, unpriced
end

local function checked_options(opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then return nil, errors.invalid("opts", "must be a table, e.g. { concurrency = 4 }") end
  local bad = options.unknown(opts, M.OPTIONS, "opts")
  if bad then return nil, bad end
  if opts.concurrency ~= nil then
    local n = require("proxyshard.check.validate").quantity(opts.concurrency, "concurrency", 1)
    if not n or n > 100 then return nil, errors.invalid("concurrency", "must be an integer from 1 to 100") end
  end
  if opts.now ~= nil and type(opts.now) ~= "number" then
    return nil, errors.invalid("now", "must be seconds since the epoch")
  end
  if opts.state_dir ~= nil and (type(opts.state_dir) ~= "string" or opts.state_dir == "") then
    return nil, errors.invalid("state_dir", "must be a path")
  end
  return opts
end

--- Read, compare, price: the state `desired` asks for (a table, or the
-- path of a desired-state file) against the account now. Returns the
-- observation and the parts of a plan, or nil, err.
-- @local
function M.look(client, desired, o)
  local obs, err = observe.read(client, desired, { concurrency = o.concurrency })
  if not obs then return nil, err end
  local applied
  applied, err = record.read(client, o.state_dir)
  if err then return nil, err end
  local actions, notes = diff.actions(desired, obs, applied, o.now or os.time())
  if not actions then return nil, notes end
  local ok
  ok, err = M.price(client, actions, o.concurrency or observe.DEFAULT_CONCURRENCY)
  if not ok then return nil, err end
  -- the record holds what was read with the token redacted (record.write):
  -- compared as written
  return { obs = obs, actions = actions, notes = notes,
    drift = diff.drift(applied, obs, require("proxyshard.engine.call").redactor(client)) }
end

--- proxyshard.plan(client, desired [, opts]): the plan, or nil, err.
function M.make(client, desired, opts)
  local o, err = checked_options(opts)
  if not o then return nil, err end
  if type(desired) == "string" then
    desired, err = file.load(desired)
  else
    desired, err = file.check(desired)
  end
  if not desired then return nil, err end
  local seen
  seen, err = M.look(client, desired, o)
  if not seen then return nil, err end
  local total, estimated, unpriced = M.total(seen.actions)
  return setmetatable({ client = client, desired = desired, actions = seen.actions, notes = seen.notes,
    drift = seen.drift, total = total, estimated = estimated, unpriced = unpriced, digest = seen.obs.digest,
    account = state.account(client), made_at = os.date("!%Y-%m-%dT%H:%M:%SZ"), options = o }, Plan)
end

--- How many actions the plan has (0: the account is as desired).
function Plan:changes()
  return #self.actions
end

--- How many of them spend.
function Plan:spends()
  local n = 0
  for _, a in ipairs(self.actions) do
    if a.spends then n = n + 1 end
  end
  return n
end

local function price_text(a)
  if not a.spends then return "free" end
  if a.price == nil then return "no price (" .. tostring(a.price_note or "none given") .. ")" end
  return (a.estimate and "about " or "") .. tostring(a.price)
    .. (a.estimate and " (estimated: the API quotes none)" or "")
end

--- The total in words: "$1.20", "about $9.00 (estimated)", with what has no price.
function Plan:total_text()
  local text = (self.estimated and "about " or "") .. tostring(self.total)
  if self.estimated then text = text .. " (part estimated)" end
  if self.unpriced > 0 then text = text .. format(" + %d without a price", self.unpriced) end
  return text
end

local function shown(v)
  if v == nil then return "none" end
  if type(v) == "string" then return format("%q", v) end
  return tostring(v)
end

--- For people: the drift, then the actions in order with their prices,
-- the total, and the notes.
function Plan:__tostring()
  -- a server that echoed the token marks what it answered (proxyshard.handles)
  local redact = require("proxyshard.engine.call").echoed(self.client)
  local text = self:text()
  return redact and redact(text) or text
end

--- The text of __tostring, before redaction.
-- @local
function Plan:text()
  local lines = {}
  if #self.drift > 0 then
    lines[#lines + 1] = "Changed outside proxyshard since the last apply:"
    for _, d in ipairs(self.drift) do
      lines[#lines + 1] = format("  ~ %s: %s %s → %s", d.target, d.field, shown(d.was), shown(d.now))
    end
    lines[#lines + 1] = ""
  end
  if #self.actions == 0 then
    lines[#lines + 1] = "No changes: the account is as the desired state says."
  else
    lines[#lines + 1] = "Actions, in order:"
    for i, a in ipairs(self.actions) do
      lines[#lines + 1] = format("  %d. %s %s — %s", i, a.spends and "$" or "+", a.what, price_text(a))
    end
    lines[#lines + 1] = format("%d action%s (%d spending), total %s", #self.actions,
      #self.actions == 1 and "" or "s", self:spends(), self:total_text())
  end
  for _, n in ipairs(self.notes) do lines[#lines + 1] = "note: " .. n end
  return concat(lines, "\n")
end

-- An action as plain data: money as cents.
local function plain_action(a)
  local t = {}
  for k, v in pairs(a) do t[k] = v end
  t.price = nil
  if a.price then t.price_cents = a.price.cents end
  return t
end

--- The plan as plain data (the --json result, and a saved plan's body):
-- money as `_cents` integers.
function Plan:to_json()
  local actions = {}
  for i, a in ipairs(self.actions) do actions[i] = plain_action(a) end
  local drift = {}
  for i, d in ipairs(self.drift) do
    drift[i] = { target = d.target, field = d.field, was = d.was == nil and json.null or d.was,
      now = d.now == nil and json.null or d.now }
  end
  return { format = M.FORMAT, version = M.VERSION, made_at = self.made_at, account = self.account,
    digest = self.digest, changes = #self.actions, spends = self:spends(), total_cents = self.total.cents,
    estimated = self.estimated, unpriced = self.unpriced, actions = json.array(actions), drift = json.array(drift),
    notes = json.array(self.notes), desired = M.plain_desired(self.desired) }
end

--- The normalised desired state as JSON-able data (the IP maps as they are).
-- @local
function M.plain_desired(d)
  local orders = {}
  for i, e in ipairs(d.orders) do orders[i] = e end
  local residential = {}
  for i, r in ipairs(d.residential) do
    residential[i] = { proxy_type = r.proxy_type, sub_users = json.array(r.sub_users) }
  end
  return { orders = json.array(orders), residential = json.array(residential) }
end

--- Save the plan to `path` (atomically): true, or nil, err.
function Plan:save(path)
  if type(path) ~= "string" or path == "" then return nil, errors.invalid("path", "must be a path") end
  -- never the token, whatever the server echoed into what it answered
  local text = require("proxyshard.engine.call").redactor(self.client)(json.encode(self:to_json()))
  local ok, why = require("proxyshard.core").replace(path, text .. "\n")
  if not ok then return nil, errors.invalid("path", format("cannot be written: %s", tostring(why))) end
  return true
end

--- Apply the plan (proxyshard.desired.apply): the report, or nil, err.
function Plan:apply(opts)
  return require("proxyshard.desired.apply").run(self, opts)
end

--- Does the plan still fit the account (a saved one, before it is
-- shown)? true, or nil and a `stale` error. Changes nothing.
function Plan:check(opts)
  return require("proxyshard.desired.apply").check(self, opts)
end

--- Read a saved plan for `client`: the plan, or nil, err. A plan saved
-- for another account or API, or in another format, is refused.
function M.load(client, path, opts)
  local o, err = checked_options(opts)
  if not o then return nil, err end
  local f, why = io.open(path, "rb")
  if not f then return nil, errors.invalid("plan", format("cannot be read: %s", tostring(why))) end
  local text = f:read(file.MAX_BYTES * 4) or ""
  f:close()
  local doc = json.decode(text)
  if type(doc) ~= "table" or doc.format ~= M.FORMAT then
    return nil, errors.invalid("plan", format("%s is not a saved plan (proxyshard plan --out)", path))
  end
  doc = json.integers(doc)
  if doc.version ~= M.VERSION then
    return nil, errors.invalid("plan", format("%s is a plan of format version %s; this proxyshard reads %d",
      path, tostring(doc.version), M.VERSION))
  end
  if doc.account ~= state.account(client) then
    return nil, errors.invalid("plan", format("%s was made for another account or API (not this token and "
      .. "base URL)", path))
  end
  local desired
  desired, err = M.desired_of(doc.desired)
  if not desired then return nil, err end
  local actions = {}
  for i, a in ipairs(doc.actions or {}) do
    if a.price_cents ~= nil then a.price = money().cents(a.price_cents) end
    a.price_cents = nil
    actions[i] = a
  end
  local total, estimated, unpriced = M.total(actions)
  return setmetatable({ client = client, desired = desired, actions = actions, notes = doc.notes or {},
    drift = doc.drift or {}, total = total, estimated = estimated, unpriced = unpriced, digest = doc.digest,
    account = doc.account, made_at = doc.made_at, saved = path, options = o }, Plan)
end

--- A saved plan's desired state, checked again (it is a file anyone can edit).
-- @local
function M.desired_of(d)
  if type(d) ~= "table" then return nil, errors.invalid("plan", "holds no desired state") end
  local t = { orders = {}, residential = {} }
  for i, e in ipairs(d.orders or {}) do
    local copy = {}
    for k, v in pairs(e) do
      if k ~= "entry" then copy[k] = v end
    end
    t.orders[i] = copy
  end
  for _, r in ipairs(d.residential or {}) do t.residential[r.proxy_type] = { sub_users = r.sub_users } end
  return file.check(t)
end

M.class = Plan

return M
