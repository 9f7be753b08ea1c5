--- A reseller's nginx handler: the reseller's customers see and sign
-- their own proxy IPs through the reseller's nginx, with their own keys,
-- never the ProxyShard token; the reseller pays for the p0f slots a first
-- signature takes, at most `max_total` a request. Set up by
-- examples/reseller/nginx.conf:
--
--   GET  /v1/proxies     Authorization: Bearer CUSTOMER_KEY
--        → { proxies = [ { ip, signature, http_port, socks_port, username, password } ] }
--   POST /v1/signature   Authorization: Bearer CUSTOMER_KEY, {"ip": "203.0.113.11", "signature": "win11"}
--        → { ip, signature, slots_bought }
--
-- Errors answer { error = kind, message } with a status by kind: 402 when a
-- slot would cost more than the cap (nothing bought), 503 when a purchase's
-- outcome is unknown (retry later: it is found out, not bought twice).
local ngx = ngx -- luacheck: ignore (the nginx global)
local cjson = require "cjson.safe"
local proxyshard = require "proxyshard"
local ip = require "proxyshard.wire.ip"

local M = {}

-- set from init_by_lua: customers (key → order id), max_total (dollars, as text)
local config = { customers = {}, max_total = "0.60" }
local client -- one per worker, made at its first request

--- Called from init_by_lua_block.
function M.configure(opts)
  config = opts
end

local function api()
  client = client or proxyshard.new {
    token = os.getenv("PROXYSHARD_TOKEN"), -- `env PROXYSHARD_TOKEN;` in nginx.conf
    subrequest_location = "/proxyshard",   -- the internal location of nginx.conf
    timeout = 20, connect_timeout = 5,
  }
  return client
end

local STATUS = {
  invalid_argument = 400, not_found = 404, validation = 409, budget = 402, unknown_outcome = 503,
  rate_limited = 503, timeout = 504,
}

local function reply(status, body)
  ngx.status = status
  ngx.header.content_type = "application/json"
  ngx.say(cjson.encode(body))
end

-- the library's message is safe to pass on: it never holds the token
local function failed(err)
  return reply(STATUS[err.kind] or 502, { error = err.kind, message = err.message })
end

-- The customer's order, from their key; nil when the key is unknown.
local function customer_order()
  local key = (ngx.var.http_authorization or ""):match("^Bearer%s+(%S+)$")
  local order_id = key and config.customers[key]
  return order_id and api():order(order_id)
end

--- GET /v1/proxies: the customer's IPs with their credentials.
function M.proxies()
  local order = customer_order()
  if not order then return reply(401, { error = "unknown customer key" }) end
  local proxies, err = order:proxies()
  if not proxies then return failed(err) end
  local out = {}
  for i, p in ipairs(proxies) do
    out[i] = { ip = p.ip, signature = p.signature, http_port = p.http_port, socks_port = p.socks_port,
      username = p.username, password = p.password }
  end
  return reply(200, { proxies = out })
end

--- POST /v1/signature: set the OS signature of one of the customer's IPs;
-- an IP signed for the first time takes a p0f slot, bought when none is
-- free (at most max_total).
function M.signature()
  local order = customer_order()
  if not order then return reply(401, { error = "unknown customer key" }) end
  ngx.req.read_body()
  local body = cjson.decode(ngx.req.get_body_data() or "")
  if type(body) ~= "table" or type(body.ip) ~= "string" then
    return reply(400, { error = "invalid_argument", message = 'the body is {"ip": ..., "signature": ...}' })
  end
  local proxies, err = order:proxies()
  if not proxies then return failed(err) end
  local wanted, proxy = ip.canonical(body.ip), nil
  for _, p in ipairs(proxies) do
    if wanted and ip.canonical(p.ip) == wanted then proxy = p end
  end
  if not proxy then return reply(404, { error = "not_found", message = "not one of your IPs" }) end
  local bought = 0
  if proxy.signature == nil then
    -- a first signature takes a slot: have one free, within the cap
    local top
    top, err = order:top_up_p0f(1, { max_total = config.max_total, reconcile = true })
    if not top then return failed(err) end
    bought = top.bought
  end
  local updated
  updated, err = order:set_signatures { { ip = proxy.ip, signature = body.signature } }
  if not updated then return failed(err) end
  return reply(200, { ip = proxy.ip, signature = body.signature, slots_bought = bought })
end

return M
