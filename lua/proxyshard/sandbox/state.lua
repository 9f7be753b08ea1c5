--- Stateful core of the ProxyShard sandbox: a simulator of part of the User
-- API (orders, add-ons, p0f signatures, account, active proxies).
--
-- Pure Lua, no I/O: `sb:handle(req)` takes a plain request table and returns
-- a plain response table, so the same code serves the HTTP server and
-- in-process specs.
--
--   local State = require "proxyshard.sandbox.state"
--   local sb = State.new{ token = "sandbox-token" }
--   local res = sb:handle{ method = "GET", path = "/user/api/me",
--     headers = { authorization = "Bearer sandbox-token" } }
--   -- res = { status = 200, headers = {...}, body = '{"active_orders":2,...}' }
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

local cjson = require "cjson"
local Faults = require "proxyshard.sandbox.faults"
local default_fixture = require "proxyshard.sandbox.fixture"
-- The client's own limits and enums, so the sandbox refuses exactly what the
-- library would refuse before sending (and no more).
local validate = require "proxyshard.validate"
local ip_address = require "proxyshard.ip"

-- Own decoder instance: the module-level settings of cjson are shared by
-- every user of the library in the process, so don't touch them.
local decoder = require("cjson.safe").new()
-- The real API (serde_json) refuses NaN, Infinity and hex numbers.
decoder.decode_invalid_numbers(false)
local json = require "proxyshard.json"

local NULL = cjson.null

local State = {}
State.__index = State

local TOKEN_DEFAULT = "sandbox-token"
local ADD_QTY_MAX = validate.MAX_QTY
-- Upper bound of the request log so a sandbox left running for days does not
-- grow without limit; the oldest entries are dropped first.
local REQUEST_LOG_MAX = 10000
local SIGNATURES = validate.SIGNATURES
local DC_ISP = { ["Datacenter Proxy"] = true, ["ISP Proxy"] = true }

---------------------------------------------------------------------------
-- Tables and JSON

-- Answers are written by proxyshard.json: exact integers, sorted keys, and
-- json.array for lists that must stay arrays when empty.
local encode = json.encode
local array = json.array

local function deep_copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = deep_copy(x) end
  return setmetatable(out, getmetatable(v))
end

---------------------------------------------------------------------------
-- Responses and rejections

local function respond(status, payload, extra_headers)
  local headers = { ["content-type"] = "application/json" }
  for k, v in pairs(extra_headers or {}) do headers[k] = v end
  return { status = status, headers = headers, body = encode(payload) }
end

-- Validation failures are raised as tables and turned into the API's error
-- body in `handle`; this keeps every check a one-liner and guarantees that
-- nothing is changed before all checks have passed.
local Reject = {}

local function reject(status, message, headers)
  error(setmetatable({ status = status, message = message, headers = headers }, Reject), 0)
end

local function bad(message) reject(400, message) end

---------------------------------------------------------------------------
-- Input parsing

local function percent_decode(s)
  s = s:gsub("+", " ")
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- Parses a raw query string; the first occurrence of a key wins.
local function parse_query(raw)
  local out = {}
  if not raw or raw == "" then return out end
  for pair in raw:gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    k = percent_decode(k)
    if out[k] == nil then out[k] = percent_decode(v) end
  end
  return out
end

-- Query values are strings; like the real server, only a plain decimal
-- integer is accepted.
local function query_int(q, name)
  local s = q[name]
  if s == nil then bad("Query deserialize error: missing field `" .. name .. "`") end
  local n = s:match("^[+-]?%d+$") and math.tointeger(tonumber(s)) or nil
  if n == nil then
    bad("Query deserialize error: invalid digit found in string for field `" .. name .. "`")
  end
  return n
end

local function is_json_content_type(value)
  if type(value) ~= "string" then return false end
  local mime = value:match("^%s*([^;%s]+)")
  return mime ~= nil and mime:lower() == "application/json"
end

-- Body checks of a POST, in the order actix-web applies them.
local function json_body(req)
  local h = req.headers
  if h["content-length"] == nil and h["transfer-encoding"] == nil then
    bad("no Content-Length specified")
  end
  if not is_json_content_type(h["content-type"]) then bad("Content type error") end
  local body = req.body or ""
  -- Only the text tells `{}` from `[]` apart: cjson gives a table for both.
  if not body:match("^%s*{") then
    local _, err = decoder.decode(body)
    bad("Json deserialize error: " .. (err or "expected a JSON object"))
  end
  local value, err = decoder.decode(body)
  if type(value) ~= "table" then bad("Json deserialize error: " .. tostring(err)) end
  return value
end

local function field_error(name, what)
  bad("Json deserialize error: invalid type for field `" .. name .. "`: expected " .. what)
end

local function missing(name)
  bad("Json deserialize error: missing field `" .. name .. "`")
end

local function body_string(t, name)
  local v = t[name]
  if v == nil or v == NULL then missing(name) end
  if type(v) ~= "string" then field_error(name, "a string") end
  return v
end

-- Strict integers: 2.5, "2" and true are type errors (cjson decodes every
-- number as a float on 5.4, so integral floats are converted).
local function body_int(t, name)
  local v = t[name]
  if v == nil or v == NULL then missing(name) end
  local n = type(v) == "number" and math.tointeger(v) or nil
  if n == nil then field_error(name, "an integer") end
  return n
end

local function is_array(t)
  if type(t) ~= "table" then return false end
  local n = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" then return false end
    n = n + 1
  end
  return n == #t
end

---------------------------------------------------------------------------
-- State

local function prepare(data)
  data = deep_copy(data)
  for _, order in ipairs(data.orders or {}) do
    order.addons = array(order.addons or {})
    order.ips = array(order.ips or {})
    order.addons_price_paid = order.addons_price_paid or 0
  end
  data.orders = array(data.orders or {})
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
  end
end

--- Create a sandbox. opts.token (default: the fixture's token, else
-- "sandbox-token"), opts.fixture (default: proxyshard.sandbox.fixture),
-- opts.clock (optional, a function returning seconds, e.g. cqueues.monotime:
-- then requests and charges carry `at_ms`, milliseconds since the last
-- reset; without it the sandbox stays clock-free and deterministic).
-- Raises when the fixture cannot be served as the API documents it.
function State.new(opts)
  opts = opts or {}
  local fixture = deep_copy(opts.fixture or default_fixture)
  check_fixture(fixture)
  local self = setmetatable({
    fixture = fixture,
    token = opts.token or fixture.token or TOKEN_DEFAULT,
    clock = opts.clock,
    generation = 0,
  }, State)
  self:reset()
  return self
end

--- Restore the fixture; clear ledger, request log and faults. A request
-- still waiting for a commit = "after_delay" rule is cancelled.
function State:reset()
  local data = prepare(self.fixture)
  self.account = data.account or { email = "", wallet_balance = 0 }
  self.catalog = data.catalog or {}
  self.orders = data.orders
  self.charges = array()
  self.log = array()
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

function State:ledger()
  return deep_copy(self.charges)
end

function State:requests()
  return deep_copy(self.log)
end

function State:snapshot()
  return deep_copy({
    account = self.account,
    catalog = self.catalog,
    orders = self.orders,
    ledger = self.charges,
    requests = self.log,
    faults = array(self.faults:list()),
  })
end

local function find_order(self, id)
  for _, order in ipairs(self.orders) do
    if order.order_id == id then return order end
  end
  return nil
end

-- The id in the path must be a positive integer naming a known order.
local function order_from_path(self, raw)
  local id = raw:match("^%d+$") and math.tointeger(tonumber(raw)) or nil
  local order = id and id > 0 and find_order(self, id)
  if not order then reject(404, "Order not found") end
  return order
end

local function addon_line(order, key)
  for _, line in ipairs(order.addons) do
    if line.addon_key == key then return line end
  end
  return nil
end

local function unit_price(self, order, key)
  local entry = self.catalog[key]
  local price = entry and entry.price_per_unit
  if type(price) == "table" then price = price[order.product_name] end
  return entry and entry.catalog_id or 1, price
end

local function signed_count(order)
  local n = 0
  for _, ip in ipairs(order.ips) do
    if ip.signature ~= nil then n = n + 1 end
  end
  return n
end

local function render_addons(order)
  local out = array()
  for i, line in ipairs(order.addons) do
    local pending = NULL
    if line.pending then
      pending = { action = line.pending.action, next_qty = line.pending.next_qty }
    end
    out[i] = {
      addon_key = line.addon_key,
      catalog_id = line.catalog_id,
      qty = line.qty,
      price_per_unit = line.price_per_unit,
      pending = pending,
    }
  end
  return out
end

local function slots_next(line)
  if not line then return 0 end
  local pending = line.pending
  if pending and pending.action == "downgrade" then return pending.next_qty end
  if pending and pending.action == "cancel" then return 0 end
  return line.qty
end

local function or_null(v)
  if v == nil then return NULL end
  return v
end

---------------------------------------------------------------------------
-- Add-on checks shared by calculate / purchase / schedule

local function check_addon_key(key)
  if key ~= "p0f_slots" then bad("Unknown addon_key") end
end

local function check_add_qty(n)
  if n < 1 then bad("add_qty must be at least 1") end
  if n > ADD_QTY_MAX then bad("add_qty too large (at most " .. ADD_QTY_MAX .. ")") end
end

local function check_order_for_addons(order)
  if order.status ~= "active" then bad("Order is not active") end
  if not DC_ISP[order.product_name] then
    bad("Add-ons are only available for Datacenter and ISP orders")
  end
end

-- Price preview, also the first half of a purchase.
local function quote(self, order, key, add_qty)
  local line = addon_line(order, key)
  local catalog_id, price = unit_price(self, order, key)
  if line then catalog_id, price = line.catalog_id, line.price_per_unit end
  if price == nil then bad("Add-on is not available for this product") end
  local current = line and line.qty or 0
  return {
    addon_key = key,
    catalog_id = catalog_id,
    price_per_unit = price,
    current_qty = current,
    add_qty = add_qty,
    new_qty = current + add_qty,
    add_total = price * add_qty,
  }
end

---------------------------------------------------------------------------
-- Handlers: function(self, req, path_capture) -> response

local handlers = {}

function handlers.me(self)
  local active = 0
  for _, order in ipairs(self.orders) do
    if order.status == "active" then active = active + 1 end
  end
  return respond(200, {
    email = self.account.email,
    active_orders = active,
    wallet_balance = self.account.wallet_balance,
  })
end

function handlers.order(self, _, raw_id)
  local order = order_from_path(self, raw_id)
  local line = addon_line(order, "p0f_slots")
  return respond(200, {
    success = true,
    order = {
      order_id = order.order_id,
      product_name = order.product_name,
      cycle_name = order.cycle_name,
      quantity = order.quantity,
      price_paid = order.price_paid,
      addons_price_paid = order.addons_price_paid,
      addons = render_addons(order),
      p0f_slots_available = line and line.qty or 0,
      p0f_slots_used = signed_count(order),
      p0f_slots_next = slots_next(line),
      status = order.status,
      created_at = or_null(order.created_at),
      expires_at = or_null(order.expires_at),
      promo_code = or_null(order.promo_code),
      auto_renewal = or_null(order.auto_renewal),
      tag = or_null(order.tag),
    },
  })
end

function handlers.active_proxies(self, req)
  local q = parse_query(req.query)
  local id = query_int(q, "order_id")
  local order = id > 0 and find_order(self, id)
  if not order then reject(404, "Order not found") end
  if not DC_ISP[order.product_name] then
    reject(403, "Method is unavailable for this order")
  end
  local data = array()
  for i, ip in ipairs(order.ips) do
    data[i] = {
      ip = ip.ip,
      username = ip.username,
      password = ip.password,
      http_port = ip.http_port,
      socks_port = ip.socks_port,
      ["until"] = order.expires_at, -- a string: check_fixture saw to it
      -- The spec lists no values; an IP of a live order is "active".
      status = order.status == "active" and "active" or order.status,
      signature = or_null(ip.signature),
    }
  end
  return respond(200, { success = true, data = data, order_tag = or_null(order.tag) })
end

function handlers.calculate(self, req, raw_id)
  local order = order_from_path(self, raw_id)
  local q = parse_query(req.query)
  if q.addon_key == nil then bad("Query deserialize error: missing field `addon_key`") end
  local add_qty = query_int(q, "add_qty")
  check_addon_key(q.addon_key)
  check_add_qty(add_qty)
  check_order_for_addons(order)
  local preview = quote(self, order, q.addon_key, add_qty)
  preview.success = true
  return respond(200, preview)
end

function handlers.purchase(self, req, raw_id)
  local order = order_from_path(self, raw_id)
  local body = json_body(req)
  local key = body_string(body, "addon_key")
  local add_qty = body_int(body, "add_qty")
  check_addon_key(key)
  check_add_qty(add_qty)
  check_order_for_addons(order)
  local q = quote(self, order, key, add_qty)
  if self.account.wallet_balance < q.add_total then bad("Insufficient balance") end

  -- All checks passed: charge, add the units, record the charge.
  self.account.wallet_balance = self.account.wallet_balance - q.add_total
  local line = addon_line(order, key)
  if line then
    line.qty = q.new_qty
  else
    order.addons[#order.addons + 1] = {
      addon_key = key, catalog_id = q.catalog_id, qty = q.new_qty,
      price_per_unit = q.price_per_unit,
    }
  end
  order.addons_price_paid = order.addons_price_paid + q.add_total
  local seq = #self.charges + 1
  self.charges[seq] = {
    seq = seq,
    order_id = order.order_id,
    addon_key = key,
    qty = add_qty,
    amount_cents = q.add_total,
    balance_after_cents = self.account.wallet_balance,
    at = seq, -- logical time, kept for older specs
    -- When the charge landed, in terms of the request log: the request that
    -- made it, and how many requests had arrived by then (more than
    -- `request` when a delayed commit landed after later requests).
    request = req.seq,
    requests_seen = self.requests_seen,
    at_ms = now_ms(self),
  }
  return respond(200, {
    success = true,
    message = "Add-on purchased",
    addons_price_paid = order.addons_price_paid,
    addons = render_addons(order),
  })
end

function handlers.schedule(self, req, raw_id)
  local order = order_from_path(self, raw_id)
  local body = json_body(req)
  local key = body_string(body, "addon_key")
  local action = body_string(body, "action")
  local next_qty = body_int(body, "next_qty")
  check_addon_key(key)
  if action ~= "downgrade" then bad("Unsupported action: only \"downgrade\" is allowed") end
  if next_qty < 1 then bad("next_qty must be at least 1") end
  check_order_for_addons(order)
  local line = addon_line(order, key)
  if not line or line.qty < 1 then bad(key .. " add-on is not active") end
  if next_qty >= line.qty then bad("next_qty must be less than current qty") end
  line.pending = { action = "downgrade", next_qty = next_qty }
  return respond(200, {
    success = true,
    message = "Downgrade scheduled",
    addons = render_addons(order),
  })
end

function handlers.cancel(self, req, raw_id)
  local order = order_from_path(self, raw_id)
  local body = json_body(req)
  local key = body_string(body, "addon_key")
  check_addon_key(key)
  local line = addon_line(order, key)
  if not line or not line.pending then bad("No pending change") end
  line.pending = nil
  return respond(200, {
    success = true,
    message = "Pending downgrade cleared",
    addons = render_addons(order),
  })
end

-- The text an IP is compared by: its canonical spelling, or the text itself
-- when it is no IP (then it matches nothing of an order but itself).
local function ip_key(text)
  return ip_address.canonical(text) or text
end

local SIGNATURE_SET = {}
for _, s in ipairs(SIGNATURES) do SIGNATURE_SET[s] = true end
local SIGNATURE_LIST = "`" .. table.concat(SIGNATURES, "`, `") .. "`"

function handlers.signature(self, req, raw_id)
  local order = order_from_path(self, raw_id)
  local body = json_body(req)
  local items = body.items
  if items == nil or items == NULL then missing("items") end
  if not is_array(items) then field_error("items", "an array") end
  if #items == 0 then bad("items must not be empty") end

  -- Shape of every item first (a deserialize error in the real server).
  -- IPs are keyed by their canonical text: two spellings are one IP.
  local wanted, order_of, spelled = {}, {}, {}
  for _, item in ipairs(items) do
    if type(item) ~= "table" or is_array(item) and #item > 0 then
      field_error("items", "an array of objects")
    end
    local given = body_string(item, "ip")
    local sig = body_string(item, "signature")
    if not SIGNATURE_SET[sig] then
      bad("Json deserialize error: unknown variant `" .. sig .. "`, expected one of "
        .. SIGNATURE_LIST)
    end
    local key = ip_key(given)
    if wanted[key] == nil then order_of[#order_of + 1], spelled[key] = key, given end
    wanted[key] = sig -- the same IP twice: the last value wins, counted once
  end

  local line = addon_line(order, "p0f_slots")
  if not line or line.qty < 1 then bad("p0f_slots add-on is not active") end

  local by_ip = {}
  for _, entry in ipairs(order.ips) do by_ip[ip_key(entry.ip)] = entry end
  local new = 0
  for _, key in ipairs(order_of) do
    local entry = by_ip[key]
    if not entry then bad("IP " .. spelled[key] .. " does not belong to order") end
    if entry.signature == nil then new = new + 1 end
  end
  local used = signed_count(order)
  if used + new > line.qty then
    bad(("Not enough p0f slots: need %d, free %d"):format(new, math.max(line.qty - used, 0)))
  end

  for _, key in ipairs(order_of) do by_ip[key].signature = wanted[key] end
  return respond(200, { success = true, message = "Signatures updated", updated = #order_of })
end

---------------------------------------------------------------------------
-- Routing

local ORDER = "^/user/api/orders/([^/]+)"
local ROUTES = {
  { "^/user/api/me$", { GET = handlers.me } },
  { "^/user/api/proxies/active$", { GET = handlers.active_proxies } },
  { ORDER .. "$", { GET = handlers.order } },
  { ORDER .. "/addons/calculate$", { GET = handlers.calculate } },
  { ORDER .. "/addons/purchase$", { POST = handlers.purchase } },
  { ORDER .. "/addons/schedule$", { POST = handlers.schedule } },
  { ORDER .. "/addons/schedule/cancel$", { POST = handlers.cancel } },
  { ORDER .. "/signature/set$", { POST = handlers.signature } },
}

local function allow_header(methods)
  local names = {}
  for m in pairs(methods) do names[#names + 1] = m end
  table.sort(names)
  return table.concat(names, ", ")
end

-- Returns handler, capture; or raises 404 / 405.
local function route(routes, method, path)
  for _, r in ipairs(routes) do
    local capture = path:match(r[1])
    if capture then
      local handler = r[2][method]
      if not handler then reject(405, "Method not allowed", { allow = allow_header(r[2]) }) end
      return handler, capture
    end
  end
  reject(404, "Not found")
end

local function dispatch(self, req)
  if req.path:sub(1, 10) == "/user/api/" then
    if req.headers.authorization ~= "Bearer " .. self.token then
      reject(401, "Unauthorized")
    end
  end
  local handler, capture = route(ROUTES, req.method, req.path)
  return handler(self, req, capture)
end

---------------------------------------------------------------------------
-- Control endpoints (/_sandbox/...): no token, not logged

local control = {}

function control.ledger(self)
  return respond(200, { ledger = self:ledger() })
end

function control.requests(self)
  return respond(200, { requests = self:requests() })
end

function control.state(self)
  return respond(200, self:snapshot())
end

function control.reset(self)
  self:reset()
  return respond(200, { success = true, message = "Sandbox reset" })
end

function control.faults_list(self)
  return respond(200, { success = true, faults = array(self.faults:list()),
    spent = array(self.faults:list_spent()) })
end

function control.faults_add(self, req)
  local body, err = decoder.decode(req.body or "")
  if type(body) ~= "table" or not (req.body or ""):match("^%s*{") then
    bad("Json deserialize error: " .. (err or "expected a JSON object"))
  end
  for k, v in pairs(body) do
    if v == NULL then body[k] = nil end
  end
  -- Allow a JSON object as the canned body for convenience.
  if type(body.body) == "table" then body.body = encode(body.body) end
  local rule, why = self.faults:add(body)
  if not rule then bad(why) end
  return respond(200, { success = true, fault = rule, faults = array(self.faults:list()) })
end

function control.faults_clear(self)
  self.faults:clear()
  return respond(200, { success = true, message = "Faults cleared" })
end

local CONTROL_ROUTES = {
  { "^/_sandbox/ledger$", { GET = control.ledger } },
  { "^/_sandbox/requests$", { GET = control.requests } },
  { "^/_sandbox/state$", { GET = control.state } },
  { "^/_sandbox/reset$", { POST = control.reset } },
  { "^/_sandbox/faults$", {
    GET = control.faults_list, POST = control.faults_add, DELETE = control.faults_clear,
  } },
}

---------------------------------------------------------------------------
-- Entry point

local function error_response(e)
  if getmetatable(e) == Reject then
    return respond(e.status, { success = false, message = e.message }, e.headers)
  end
  -- A bug in the sandbox: answer like a server would rather than dropping
  -- the connection, and keep the message for whoever debugs it.
  return respond(500, { success = false, message = "Sandbox internal error: " .. tostring(e) })
end

local function log_entry(req)
  local headers = {}
  for k, v in pairs(req.headers) do
    headers[k] = (k == "authorization") and "[redacted]" or v
  end
  return { seq = req.seq, method = req.method, path = req.path, query = req.query,
    headers = headers, body = req.body, connection = req.connection, at_ms = req.at_ms }
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

---------------------------------------------------------------------------
-- Fault injection (rules: proxyshard.sandbox.faults)

-- The real handling; validation failures and bugs become error answers.
local function run(self, req)
  local ok, res = pcall(dispatch, self, req)
  if not ok then res = error_response(res) end
  return res
end

-- The answer the request would get, with the state left as it was: the
-- parts a handler may change are copied first and put back afterwards.
local function dry_run(self, req)
  local account, orders, charges = deep_copy(self.account), deep_copy(self.orders),
    deep_copy(self.charges)
  local res = run(self, req)
  self.account, self.orders, self.charges = account, orders, charges
  return res
end

-- Exactly `size` bytes of valid JSON: an object with a padding string when
-- there is room for it, else a bare string.
local PAD_HEAD, PAD_TAIL = '{"success":true,"padding":"', '"}'
local function padded_json(size)
  if size >= #PAD_HEAD + #PAD_TAIL then
    return PAD_HEAD .. string.rep("x", size - #PAD_HEAD - #PAD_TAIL) .. PAD_TAIL
  elseif size >= 2 then
    return '"' .. string.rep("x", size - 2) .. '"'
  end
  return string.rep("0", size)
end

local PAD_HEADER_BYTES = 1000

-- `n` bytes of junk header values: x-pad-1, x-pad-2, ... of 1000 bytes each.
local function add_pad_headers(headers, n)
  local i = 0
  while n > 0 do
    i = i + 1
    local len = math.min(n, PAD_HEADER_BYTES)
    headers["x-pad-" .. i] = string.rep("p", len)
    n = n - len
  end
end

-- The real answer, or the would-be one with the state left alone: a rule
-- that only delays (no status, action "answer") always handles for real.
local function handled_answer(self, req, entry, fault)
  local shapes = fault.status ~= nil or fault.action ~= "answer"
  if fault.commit or not shapes then
    entry.committed = true
    return run(self, req)
  end
  entry.committed = false
  if fault.status == nil and fault.action ~= "oversize" then return dry_run(self, req) end
  return nil -- a canned answer replaces it anyway
end

local function fault_info(fault, committed, body)
  return {
    id = fault.id,
    action = fault.action,
    commit = fault.commit,
    committed = committed,
    stall_ms = fault.stall_ms,
    size = fault.size,
    send_bytes = fault.action == "truncate" and #(body or "") // 2 or nil,
  }
end

-- The answer `res` shaped as the rule says: canned status or oversized body,
-- extra headers, and what the server must do with it.
local function shaped_answer(res, fault, committed)
  if fault.action == "oversize" then
    res = {
      status = fault.status or 200,
      headers = { ["content-type"] = fault.content_type or "application/json" },
      body = padded_json(fault.size),
    }
  elseif fault.status then
    res = {
      status = fault.status,
      headers = { ["content-type"] = fault.content_type },
      body = fault.body,
    }
  end
  res.headers = res.headers or {}
  for name, value in pairs(fault.headers or {}) do res.headers[name:lower()] = value end
  add_pad_headers(res.headers, fault.huge_headers or 0)
  res.fault = fault_info(fault, committed, res.body)
  return res
end

-- The answer to a request whose rule is commit = "after_delay": a promise
-- (see the module comment). Nothing is handled until `finish` is called.
local function deferred(self, req, entry, fault)
  entry.committed = false
  local generation = self.generation
  return {
    delay = fault.delay_ms / 1000,
    fault = fault_info(fault, false),
    finish = function()
      if self.generation ~= generation then
        local res = respond(503, { success = false,
          message = "Sandbox was reset while this request waited; it was not handled" })
        -- answered plainly: the rule's action was meant for the real answer
        res.fault = fault_info(fault, false)
        res.fault.action, res.fault.cancelled = "answer", true
        return res
      end
      entry.committed = true
      return shaped_answer(run(self, req), fault, true)
    end,
  }
end

-- The answer to a request that hit `fault`, see the module comment.
local function faulted(self, req, entry, fault)
  if fault.commit == Faults.COMMIT_AFTER_DELAY then return deferred(self, req, entry, fault) end
  local res = shaped_answer(handled_answer(self, req, entry, fault), fault, entry.committed)
  res.delay = fault.delay_ms > 0 and fault.delay_ms / 1000 or nil
  return res
end

--- Handle one request; see the module comment for the table shapes.
function State:handle(raw)
  local req = normalize(raw)
  local ok, res
  if req.path == "/_sandbox" or req.path:sub(1, 10) == "/_sandbox/" then
    ok, res = pcall(function()
      local handler = route(CONTROL_ROUTES, req.method, req.path)
      return handler(self, req)
    end)
    return ok and res or error_response(res)
  end

  -- Numbered from 1 after each reset; the numbers go on when old entries
  -- are dropped from the log, so the ledger can refer to them.
  self.requests_seen = self.requests_seen + 1
  req.seq = self.requests_seen
  req.at_ms = now_ms(self)
  local entry = log_entry(req)
  self.log[#self.log + 1] = entry
  if #self.log > REQUEST_LOG_MAX then table.remove(self.log, 1) end

  local fault = self.faults:take(req.method, req.path)
  if fault then
    entry.fault = fault.id
    return faulted(self, req, entry, fault)
  end
  entry.committed = true
  return run(self, req)
end

return State
