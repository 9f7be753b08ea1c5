--- Stateful core of the ProxyShard sandbox: all 34 operations of the User
-- API (proxyshard.operations), over a fixed fixture (proxyshard.sandbox.world.fixture).
--
-- Pure Lua, no I/O: `sb:handle(req)` takes a plain request table and returns
-- a plain response table, so the same code serves the HTTP server and
-- in-process specs.
--
--   local State = require "proxyshard.sandbox.world.state"
--   local sb = State.new{ token = "sandbox-token" }
--   local res = sb:handle{ method = "GET", path = "/user/api/me",
--     headers = { authorization = "Bearer sandbox-token" } }
--   -- res = { status = 200, headers = {...}, body = '{"active_orders":4,...}' }
--
-- A request goes: routed by the operation table (proxyshard.sandbox.router),
-- token checked (401; not for rows with auth = false), parameters read and
-- checked by the row (proxyshard.sandbox.params), handled
-- (proxyshard.sandbox.handlers), and the answer rendered by the row's
-- `answer` shape (proxyshard.sandbox.render).
--
-- A response may carry `delay` (seconds) set by fault injection; the HTTP
-- server sleeps that long before answering, in-process callers may ignore it.
-- A rule with commit = "after_delay" gives a response that is only a promise:
-- `{ delay = seconds, fault = {...}, finish = function }` and no status. The
-- server sleeps `delay`, then calls `res.finish()`, which handles the request
-- for real (unless the sandbox was reset meanwhile) and returns the answer
-- to write; in-process callers call it themselves.
-- When a fault rule hit the request, the response also carries `fault`:
--   { id = rule id, action = "answer"|"drop"|"truncate"|"stall"|"oversize",
--     commit = rule.commit, committed = true when the real handler ran,
--     cancelled = true when a reset cancelled an "after_delay" request,
--     stall_ms = (stall), size = (oversize), send_bytes = (truncate: how many
--     body bytes to write before closing) }
-- The table itself is the would-be answer; the HTTP server carries out the
-- action (see proxyshard.sandbox.server), in-process callers just see both.
--
-- What handlers use of a state `sb`: `sb.data` (what requests change: the
-- account, orders, residential accounts, stock, id counters), `sb.fixture`
-- (read only: products, promos, catalog, locations), `sb:now()` and
-- `sb:charge(req, cents, what)`.

local Faults = require "proxyshard.sandbox.faults"
local default_fixture = require "proxyshard.sandbox.world.fixture"
local fault_answers = require "proxyshard.sandbox.faults.answers"
local control = require "proxyshard.sandbox.control"
local router = require "proxyshard.sandbox.router"
local params = require "proxyshard.sandbox.params"
local render = require "proxyshard.sandbox.render"
local handlers = require "proxyshard.sandbox.handlers"
local catalog = require "proxyshard.sandbox.world.catalog"
local reply = require "proxyshard.sandbox.reply"
local operations = require "proxyshard.operations"
local json = require "proxyshard.wire.json"
local text = require "proxyshard.sandbox.text"

local array = json.array

local State = {}
State.__index = State

local TOKEN_DEFAULT = "sandbox-token"
-- Bounds of the request log, so a sandbox left running for days, or sent
-- big bodies, does not grow without limit: at most this many entries and
-- this many bytes (the oldest entries are dropped first), and of each body
-- the first LOG_BODY_BYTES (cut between UTF-8 characters, then marked).
-- 10,000 bodies of 60 KiB took 0.6-0.85 GB when bodies were kept whole.
local LOG_MAX_ENTRIES = 10000
local LOG_MAX_BYTES = 16 * 1024 * 1024
local LOG_BODY_BYTES = 4096
-- What an entry counts beyond its text: its two tables, the strings' own
-- headers, the numbers. About 620 bytes measured on Lua 5.4, rounded up, so
-- the byte bound holds for the memory the log takes, not only its text.
-- A body cut short is marked at its end, and its entry has `body_bytes`,
-- the length it had.
local LOG_ENTRY_BYTES = 768
-- A dump of the log pauses (self.pause) after about this much JSON text.
local DUMP_PAUSE_BYTES = 64 * 1024
-- What a fixture that leaves them out gets.
local DEFAULTS = { now = "2026-11-25T12:00:00Z", next_order_id = 20000, next_sub_user = 1 }

-- Every operation has its handler, or the sandbox does not start.
local ROUTER = router.new(operations.rows)
local HANDLER = {}
for _, row in ipairs(operations.rows) do
  HANDLER[row] = handlers.for_row(row) or error("the sandbox has no handler for " .. handlers.key(row))
end

--- A deep copy of `v` (metatables kept): the fixture given is copied, never
-- changed; a spec that edits a fixture copies it first.
local function deep_copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = deep_copy(x) end
  return setmetatable(out, getmetatable(v))
end
State.deep_copy = deep_copy

---------------------------------------------------------------------------
-- The fixture

-- What requests change, fresh from the fixture; lists that must stay JSON
-- arrays when empty are marked so.
local function prepare(fixture)
  local data = deep_copy {
    account = fixture.account or { email = "", wallet_balance = 0 },
    orders = fixture.orders or {},
    residential = fixture.residential or {},
    stock = fixture.stock or {},
  }
  for _, order in ipairs(data.orders) do
    order.addons = array(order.addons or {})
    order.ips = array(order.ips or {})
    order.addons_price_paid = order.addons_price_paid or 0
  end
  for _, account in pairs(data.residential) do account.sub_users = array(account.sub_users or {}) end
  data.orders, data.stock = array(data.orders), array(data.stock)
  data.next_order_id = fixture.next_order_id
  data.next_sub_user = fixture.next_sub_user
  data.passwords_issued = 0
  return data
end

-- The fields of an IP that GET /proxies/active must write (ActiveProxyItem
-- marks them required), with the Lua type each needs.
local PROXY_ITEM_FIELDS = {
  { "ip", "string" }, { "username", "string" }, { "password", "string" },
  { "http_port", "integer" }, { "socks_port", "integer" },
}

-- A fixture read from JSON has floats for integers (cjson on 5.4); the
-- answers write integral floats as integers, so they count as integers.
local function value_kind(v)
  if type(v) == "number" and math.tointeger(v) then return "integer" end
  return type(v)
end

-- A fixture the answers could not render as documented is refused up
-- front, rather than answered with a null where the API promises a value.
local function check_fixture(fixture)
  for _, order in ipairs(fixture.orders or {}) do
    local where = "fixture: order " .. tostring(order.order_id)
    if next(order.ips or {}) ~= nil and type(order.expires_at) ~= "string" then
      error(where .. " has IPs but no expires_at string (their `until` is a required string)", 3)
    end
    for i, ip in ipairs(order.ips or {}) do
      for _, field in ipairs(PROXY_ITEM_FIELDS) do
        if value_kind(ip[field[1]]) ~= field[2] then
          error(("%s, IP %d: %s must be a%s %s"):format(where, i, field[1],
            field[2] == "integer" and "n" or "", field[2]), 3)
        end
      end
    end
    -- the order list writes the product's and the cycle's ids (required)
    local product = catalog.product(fixture, order.product_name)
    if not product or not catalog.cycle(product, order.cycle_name) then
      error(("%s: %s / %s is not a product and cycle of the fixture's products"):format(where,
        tostring(order.product_name), tostring(order.cycle_name)), 3)
    end
  end
end

--- Create a sandbox. opts.token (default: the fixture's token, else
-- "sandbox-token"), opts.fixture (default: proxyshard.sandbox.world.fixture),
-- opts.clock (optional, a function returning seconds, e.g. cqueues.monotime:
-- then requests and charges carry `at_ms`, milliseconds since the last
-- reset; without it the sandbox stays clock-free and deterministic),
-- opts.pause (optional, a function called between the pieces of a long
-- dump of the request log; the HTTP server gives one that lets the other
-- connections be served), opts.log_max_entries, opts.log_max_bytes and
-- opts.log_body_bytes (the request log's bounds, see LOG_MAX_ENTRIES).
-- Raises when the fixture cannot be served as the API documents it.
function State.new(opts)
  opts = opts or {}
  local fixture = deep_copy(opts.fixture or default_fixture)
  for _, name in ipairs { "products", "promos", "catalog", "locations" } do fixture[name] = fixture[name] or {} end
  for name, value in pairs(DEFAULTS) do
    if fixture[name] == nil then fixture[name] = value end
  end
  check_fixture(fixture)
  local self = setmetatable({
    fixture = fixture,
    token = opts.token or fixture.token or TOKEN_DEFAULT,
    clock = opts.clock,
    pause = opts.pause,
    log_max_entries = opts.log_max_entries or LOG_MAX_ENTRIES,
    log_max_bytes = opts.log_max_bytes or LOG_MAX_BYTES,
    log_body_bytes = opts.log_body_bytes or LOG_BODY_BYTES,
    generation = 0,
  }, State)
  self:reset()
  return self
end

--- Restore the fixture; clear ledger, request log and faults. A request
-- still waiting for a commit = "after_delay" rule is cancelled.
function State:reset()
  self.data = prepare(self.fixture)
  self.charges = array()
  self.log = array()
  self.log_bytes = 0
  self.requests_seen = 0
  self.faults = Faults.new()
  self.generation = self.generation + 1
  self.epoch = self.clock and self.clock()
end

-- Milliseconds since the last reset, or nil without a clock.
local function now_ms(self)
  if not self.clock then return nil end
  return math.floor((self.clock() - self.epoch) * 1000 + 0.5)
end

--- The sandbox's today (the fixture's `now`): it reads no clock.
function State:now()
  return self.fixture.now
end

--- Take `cents` from the wallet for `req`, and write the charge to the
-- ledger with the fields of `what` (`kind` and what it was for). 400
-- "Insufficient balance", and nothing taken, when the wallet is short.
function State:charge(req, cents, what)
  local account = self.data.account
  if account.wallet_balance < cents then reply.bad("Insufficient balance") end
  account.wallet_balance = account.wallet_balance - cents
  local seq = #self.charges + 1
  local entry = {
    seq = seq,
    amount_cents = cents,
    balance_after_cents = account.wallet_balance,
    at = seq, -- logical time, kept for older specs
    -- When the charge landed, in terms of the request log: the request that
    -- made it, and how many requests had arrived by then (more than
    -- `request` when a delayed commit landed after later requests).
    request = req.seq,
    requests_seen = self.requests_seen,
    at_ms = now_ms(self),
  }
  for k, v in pairs(what) do entry[k] = v end
  self.charges[seq] = entry
end

function State:ledger()
  return deep_copy(self.charges)
end

function State:requests()
  return deep_copy(self.log)
end

-- Everything the state dump shows but the request log.
local function world_fields(self)
  local data = self.data
  return {
    account = data.account,
    orders = data.orders,
    residential = data.residential,
    stock = data.stock,
    catalog = self.fixture.catalog,
    products = array(self.fixture.products),
    ledger = self.charges,
    faults = array(self.faults:list()),
  }
end

function State:snapshot()
  local fields = world_fields(self)
  fields.requests = self.log
  return deep_copy(fields)
end

--- The request log's size and bounds: { entries, bytes (as counted for
-- the bound), max_entries, max_bytes, body_bytes (kept of each body) }.
function State:log_stats()
  return { entries = #self.log, bytes = self.log_bytes, max_entries = self.log_max_entries,
    max_bytes = self.log_max_bytes, body_bytes = self.log_body_bytes }
end

--- The request log as JSON text, the same as json.encode(sb:requests()),
-- written entry by entry with a pause (self.pause, when set) after every
-- DUMP_PAUSE_BYTES or so, so a dump of thousands of entries does not hold
-- up the other requests. It shows the log as it was when called: entries
-- logged during a pause are left for the next dump.
function State:log_json()
  local log, entries = self.log, {}
  for i = 1, #log do entries[i] = log[i] end
  local out, since = {}, 0
  for i = 1, #entries do
    out[i] = json.encode(entries[i])
    since = since + #out[i] + LOG_ENTRY_BYTES
    if since >= DUMP_PAUSE_BYTES and self.pause then
      since = 0
      self.pause()
    end
  end
  return "[" .. table.concat(out, ",") .. "]"
end

--- The whole state as JSON text, the same as json.encode(sb:snapshot()):
-- the world is written first, at once, so it is consistent; then the
-- request log, with pauses (see log_json).
function State:snapshot_json()
  local fields, names = world_fields(self), { "requests" }
  local parts = {}
  for name, value in pairs(fields) do
    names[#names + 1] = name
    parts[name] = json.encode(value)
  end
  parts.requests = self:log_json()
  table.sort(names)
  local out = {}
  for i, name in ipairs(names) do out[i] = json.encode(name) .. ":" .. parts[name] end
  return "{" .. table.concat(out, ",") .. "}"
end

---------------------------------------------------------------------------
-- Handling

-- Routed, token checked, parameters read, handled, rendered.
local function dispatch(self, req)
  local route, miss = ROUTER:match(req.method, req.path)
  local needs_token
  if route then
    needs_token = route.row.auth ~= false
  else
    needs_token = req.path:sub(1, 10) == "/user/api/"
  end
  if needs_token and req.headers.authorization ~= "Bearer " .. self.token then reply.reject(401, "Unauthorized") end
  if not route then
    if miss.status == 405 then reply.reject(405, "Method not allowed", { allow = miss.allow }) end
    reply.reject(404, "Not found")
  end
  local row = route.row
  local answer = HANDLER[row](self, params.read(row, req, route.path), req)
  if row.answer == false then return answer end
  return reply.json(200, render.answer(row.answer, answer))
end

-- The real handling; refusals and bugs become error answers.
local function run(self, req)
  local ok, res = pcall(dispatch, self, req)
  if not ok then res = reply.error_response(res) end
  return res
end

-- The answer the request would get, with the state left as it was: what a
-- handler may change is copied first and put back afterwards.
local function dry_run(self, req)
  local data, charges = deep_copy(self.data), deep_copy(self.charges)
  local res = run(self, req)
  self.data, self.charges = data, charges
  return res
end

-- The body as the log keeps it: whole up to `keep` bytes; else its first
-- bytes, cut between characters, and a marker saying how long it was.
local function logged_body(body, keep)
  if type(body) ~= "string" or #body <= keep then return body end
  return text.prefix(body, keep) .. ("...[truncated by the sandbox: %d bytes in all]"):format(#body)
end

local function log_entry(req, keep)
  local headers = {}
  for k, v in pairs(req.headers) do
    headers[k] = (k == "authorization") and "[redacted]" or v
  end
  local body = logged_body(req.body, keep)
  return { seq = req.seq, method = req.method, path = req.path, query = req.query,
    headers = headers, body = body, body_bytes = body ~= req.body and #req.body or nil,
    connection = req.connection, at_ms = req.at_ms }
end

-- What an entry counts for against the log's byte bound.
local function entry_bytes(entry)
  local n = LOG_ENTRY_BYTES + #entry.method + #entry.path + #tostring(entry.query or "")
    + #tostring(entry.body or "")
  for k, v in pairs(entry.headers) do n = n + #k + #tostring(v) end
  return n
end

-- Adds an entry to the log, then drops the oldest while a bound is passed
-- (the newest entry is kept whatever its size: a body is cut short anyway).
local function append_to_log(self, entry)
  local log = self.log
  local n = #log + 1
  log[n] = entry
  local bytes = self.log_bytes + entry_bytes(entry)
  local drop = 0
  while n - drop > 1 and (n - drop > self.log_max_entries or bytes > self.log_max_bytes) do
    drop = drop + 1
    bytes = bytes - entry_bytes(log[drop])
  end
  if drop > 0 then
    for i = 1, n - drop do log[i] = log[i + drop] end
    for i = n - drop + 1, n do log[i] = nil end
  end
  self.log_bytes = bytes
end

-- Copy of the request with defaults filled in and header names lower-cased.
local function normalize(req)
  local out = {
    method = string.upper(req.method or "GET"),
    path = req.path or "/",
    query = req.query,
    body = req.body,
    connection = req.connection,
    headers = {},
  }
  if out.query == nil then
    local p, q = out.path:match("^([^?]*)%?(.*)$")
    if p then out.path, out.query = p, q end
  end
  for k, v in pairs(req.headers or {}) do out.headers[string.lower(k)] = v end
  return out
end

--- Handle one request; see the module comment for the table shapes.
function State:handle(raw)
  local req = normalize(raw)
  if control.is(req.path) then return control.handle(self, req) end

  -- Numbered from 1 after each reset; the numbers go on when old entries
  -- are dropped from the log, so the ledger can refer to them.
  self.requests_seen = self.requests_seen + 1
  req.seq = self.requests_seen
  req.at_ms = now_ms(self)
  local entry = log_entry(req, self.log_body_bytes)
  append_to_log(self, entry)

  local fault = self.faults:take(req.method, req.path)
  if fault then
    entry.fault = fault.id
    local generation = self.generation
    return fault_answers.answer({
      run = function(r) return run(self, r) end,
      dry_run = function(r) return dry_run(self, r) end,
    }, req, entry, fault, function() return self.generation == generation end)
  end
  entry.committed = true
  return run(self, req)
end

return State
