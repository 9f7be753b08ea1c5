--- Location handlers for spec/nginx_spec.lua (see nginx.conf.template):
-- each runs client calls inside nginx and answers JSON with what came back,
-- a value (amounts in cents) or the error's kind, message, status, attempts.
-- The transport is always named: "subrequest" (the internal location),
-- "resty" (the real lua-resty-http, from PROXYSHARD_RESTY_HTTP_LIB) or
-- "curl" (blocking libcurl, for the contrast in the non-blocking proof).
local ngx = ngx -- luacheck: ignore (the nginx global)
local cjson = require "cjson"
local proxyshard = require "proxyshard"

local tonumber = tonumber
local tostring = tostring
local pcall = pcall
local ipairs = ipairs

local M = {}

local config = {} -- base_url, hostile_url, token, location, hostile_location: set by init_by_lua
local clients = {} -- once per worker, by transport, token and options

--- Called from init_by_lua_block with the sandbox's URL and token.
function M.configure(opts)
  config = opts
end

-- hostile: through the hostile front (hostile_server.lua) instead of
-- straight to the sandbox; timeout and max_retries when given.
local function client(transport, token, hostile, timeout, max_retries)
  token = token or config.token
  local key = table.concat({ transport, token, tostring(hostile), tostring(timeout), tostring(max_retries) }, " ")
  if not clients[key] then
    clients[key] = proxyshard.new {
      token = token,
      -- the subrequest transport keeps only the path and query of the URL:
      -- the internal location decides where it goes
      base_url = hostile and config.hostile_url or config.base_url,
      transport = transport,
      subrequest_location = hostile and config.hostile_location or config.location,
      timeout = timeout or 10,
      connect_timeout = 5,
      max_retries = max_retries,
      base_delay = 0.05, -- retries sleep with ngx.sleep; keep the spec quick
      max_delay = 0.2,
    }
  end
  return clients[key]
end

local function error_table(err)
  return { ok = false, kind = err.kind, message = err.message, status = err.status, attempts = err.attempts,
    cause = err.cause, argument = err.argument, text = tostring(err) }
end

local function quote_table(q)
  return { ok = true, current_qty = q.current_qty, add_qty = q.add_qty, new_qty = q.new_qty,
    price_per_unit = q.price_per_unit.cents, total = q.total.cents, text = tostring(q) }
end

local function answer(t)
  ngx.header.content_type = "application/json"
  ngx.say(cjson.encode(t))
end

local function order_arg()
  local id = ngx.var.arg_order or "12345"
  return tonumber(id) or id -- "abc" stays a string: refused by the client
end

local function qty_arg()
  return tonumber(ngx.var.arg_qty or "2")
end

--- The quote of ?qty= (default 2) p0f slots on order 12345.
function M.quote(transport)
  local q, err = client(transport):order(12345):addon("p0f_slots"):quote(qty_arg())
  answer(q and quote_table(q) or error_table(err))
end

--- A purchase of ?qty= p0f slots, capped at ?cap= cents when given.
function M.purchase(transport)
  local cap = tonumber(ngx.var.arg_cap)
  local r, err = client(transport):order(12345):addon("p0f_slots"):purchase(qty_arg(),
    cap and { max_total = cap } or nil)
  if not r then return answer(error_table(err)) end
  answer { ok = true, addons_price_paid = r.addons_price_paid.cents, message = r.message,
    quote_total = r.quote and r.quote.total.cents }
end

--- Sign ?ips= (comma-separated) with ?signature= (default win11).
function M.sign(transport)
  local items = {}
  for ip in (ngx.var.arg_ips or ""):gmatch("[^,]+") do
    items[#items + 1] = { ip = ip, signature = ngx.var.arg_signature or "win11" }
  end
  local order, err = client(transport):order(12345)
  local updated
  if order then updated, err = order:set_signatures(items) end
  answer(updated and { ok = true, updated = updated } or error_table(err))
end

--- GET order ?order= (default 12345); ?token= for a client with another token.
function M.fetch(transport)
  local order, err = client(transport, ngx.var.arg_token):order(order_arg())
  local info
  if order then info, err = order:fetch() end
  if not info then return answer(error_table(err)) end
  answer { ok = true, order_id = info.order_id, status = info.status, p0f_slots_used = info.p0f_slots_used,
    p0f_slots_available = info.p0f_slots_available }
end

local function seconds()
  ngx.update_time()
  return ngx.now()
end

-- The operations of M.sequence: each returns a JSON-able table.
local OPS = {
  purchase = function(c)
    local r, err = c:order(12345):addon("p0f_slots"):purchase(2)
    if not r then return error_table(err) end
    return { ok = true, addons_price_paid = r.addons_price_paid.cents, message = r.message }
  end,
  quote = function(c)
    local q, err = c:order(12345):addon("p0f_slots"):quote(2)
    return q and quote_table(q) or error_table(err)
  end,
  fetch = function(c)
    local info, err = c:order(12345):fetch()
    if not info then return error_table(err) end
    return { ok = true, order_id = info.order_id, p0f_slots_used = info.p0f_slots_used }
  end,
  -- the other calls that spend money: a new order under a cap, a renewal,
  -- traffic for a residential order
  purchase_order = function(c)
    local r, err = c:purchase_order({ product = "Datacenter Proxy", location = "DE", cycle = "monthly",
      quantity = 1 }, { max_total = "3.00", reconcile = true })
    if not r then return error_table(err) end
    return { ok = true, order_id = r.order_id, quote_total = r.quote.total.cents }
  end,
  renew = function(c)
    local r, err = c:order(12346):renew { reconcile = true }
    if not r then return error_table(err) end
    return { ok = true, message = r.message }
  end,
  add_bandwidth = function(c)
    local r, err = c:order(12400):add_bandwidth(1)
    if not r then return error_table(err) end
    return { ok = true, message = r.message }
  end,
}

--- Through the hostile front: the calls ?ops= (e.g. purchase,quote) one
-- right after the other in this handler, with ?timeout= and ?retries=;
-- each result with its `elapsed` seconds.
function M.sequence(transport)
  local c = client(transport, nil, true, tonumber(ngx.var.arg_timeout), tonumber(ngx.var.arg_retries))
  local results = {}
  for op in (ngx.var.arg_ops or ""):gmatch("[^,]+") do
    local t0 = seconds()
    local r = assert(OPS[op], op)(c)
    r.elapsed = seconds() - t0
    results[#results + 1] = r
  end
  answer { results = results }
end

-- The items of M.map: each returns a JSON-able table, or raises.
local MAP_OPS = {
  quote = OPS.quote,
  fetch = OPS.fetch,
  missing = function(c)
    local info, err = c:order(99999):fetch()
    return info and { ok = true } or error_table(err)
  end,
  buy = function(c)
    local r, err = c:order(12345):addon("p0f_slots"):purchase(2, { max_total = 100 })
    if not r then return error_table(err) end
    return { ok = true, addons_price_paid = r.addons_price_paid.cents, quoted = r.quote.total.cents }
  end,
  boom = function() error("boom in fn") end,
}

--- client:map over ?items= (e.g. quote,buy,missing,boom) with
-- ?concurrency=: the results in list order (a raised error as
-- { raised = ... }), the order the items finished in, the most items
-- running at once, and the seconds it all took.
function M.map(transport)
  local c = client(transport)
  local items = {}
  for op in (ngx.var.arg_items or ""):gmatch("[^,]+") do items[#items + 1] = op end
  local finished, running, most = {}, 0, 0
  local t0 = seconds()
  local results, err = c:map(items, function(op, i)
    running = running + 1
    most = math.max(most, running)
    local ok, r = pcall(assert(MAP_OPS[op], op), c)
    running = running - 1
    finished[#finished + 1] = i
    if not ok then error(r, 0) end
    return r
  end, { concurrency = tonumber(ngx.var.arg_concurrency) })
  if not results then return answer(error_table(err)) end
  local out = {}
  for i, r in ipairs(results) do out[i] = r.value or { ok = false, raised = tostring(r.err) } end
  answer { results = out, finished = finished, most = most, elapsed = seconds() - t0 }
end

-- Quote in a phase given by the caller; the result, value or error, as JSON.
local function quote_json(transport)
  local ok, q, err = pcall(function()
    return client(transport):order(12345):addon("p0f_slots"):quote(2)
  end)
  if not ok then return cjson.encode { ok = false, raised = tostring(q) } end
  return cjson.encode(q and quote_table(q) or error_table(err))
end

--- set_by_lua_block: the API call's answer becomes the variable's value.
function M.in_set_phase()
  return quote_json("subrequest")
end

--- log_by_lua_block: the answer is stashed in the results dict under "log".
function M.in_log_phase()
  ngx.shared.results:set("log", quote_json("subrequest"))
end

--- Start a timer that quotes through `transport`; its answer is stashed in
-- the results dict under "timer_<transport>".
function M.in_timer(transport)
  ngx.shared.results:delete("timer_" .. transport)
  local ok, err = ngx.timer.at(0, function(premature)
    if premature then return end
    ngx.shared.results:set("timer_" .. transport, quote_json(transport))
  end)
  answer { ok = ok and true or false, error = err }
end

--- A stashed answer (?key=), or 404 while there is none yet.
function M.result()
  local value = ngx.shared.results:get(ngx.var.arg_key or "")
  if not value then return ngx.exit(404) end
  ngx.header.content_type = "application/json"
  ngx.say(value)
end

return M
