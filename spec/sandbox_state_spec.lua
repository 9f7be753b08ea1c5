-- In-process specs of proxyshard.sandbox.world.state (no sockets involved).

local State = require "proxyshard.sandbox.world.state"
local fixture = require "proxyshard.sandbox.world.fixture"
local validate = require "proxyshard.check.validate"
local cjson = require "cjson"
local json = require "proxyshard.wire.json"

local TOKEN = "sandbox-token"

local function auth(extra)
  local h = { authorization = "Bearer " .. TOKEN }
  for k, v in pairs(extra or {}) do h[k] = v end
  return h
end

local function get(sb, path, query, headers)
  return sb:handle { method = "GET", path = path, query = query, headers = headers or auth() }
end

-- POST with the headers a well-behaved client sends; `body` may be a Lua
-- table (encoded) or a raw string.
local function post(sb, path, body, headers)
  if type(body) == "table" then body = json.encode(body) end
  headers = headers or auth {
    ["content-type"] = "application/json",
    ["content-length"] = tostring(#(body or "")),
  }
  return sb:handle { method = "POST", path = path, body = body, headers = headers }
end

local function decode(res)
  return cjson.decode(res.body)
end

-- Asserts an error answer and returns its message.
local function err(res, status)
  assert.are.equal(status, res.status)
  assert.are.equal("application/json", res.headers["content-type"])
  local body = decode(res)
  assert.are.equal(false, body.success)
  assert.are.equal("string", type(body.message))
  return body.message
end

local ORDER = "/user/api/orders/"

describe("sandbox state", function()
  local sb
  before_each(function()
    sb = State.new { token = TOKEN }
  end)

  describe("fixture", function()
    it("serves order 12345 as documented", function()
      local res = get(sb, ORDER .. "12345")
      assert.are.equal(200, res.status)
      local body = decode(res)
      assert.is_true(body.success)
      local o = body.order
      assert.are.equal(12345, o.order_id)
      assert.are.equal("Datacenter Proxy", o.product_name)
      assert.are.equal("monthly", o.cycle_name)
      assert.are.equal("active", o.status)
      assert.are.equal(5, o.quantity)
      assert.are.equal(1500, o.price_paid)
      assert.are.equal(90, o.addons_price_paid)
      assert.are.equal(3, o.p0f_slots_available)
      assert.are.equal(1, o.p0f_slots_used)
      assert.are.equal(3, o.p0f_slots_next)
      assert.are.equal(true, o.auto_renewal)
      assert.are.equal("sandbox", o.tag)
      assert.are.equal(cjson.null, o.promo_code)
      assert.are.equal("2026-11-01T09:00:00Z", o.created_at)
      assert.are.equal("2026-12-01T09:00:00Z", o.expires_at)
      assert.are.same({ {
        addon_key = "p0f_slots", catalog_id = 1, qty = 3, price_per_unit = 30, pending = cjson.null,
      } }, o.addons)
      -- integers print as integers, null as null
      assert.truthy(res.body:find('"price_paid":1500,', 1, true))
      assert.truthy(res.body:find('"pending":null', 1, true))
      assert.falsy(res.body:find("%d%.0[,}]"))
    end)

    it("has an on-hold ISP order with IPv6 addresses and an order without add-ons", function()
      local o = decode(get(sb, ORDER .. "12346")).order
      assert.are.equal("ISP Proxy", o.product_name)
      assert.are.equal("on-hold", o.status)
      assert.are.equal(1, o.p0f_slots_available)
      assert.are.equal(60, o.addons[1].price_per_unit)
      local proxies = decode(get(sb, "/user/api/proxies/active", "order_id=12346")).data
      assert.are.same({ "2001:db8::10", "2001:db8::11" }, { proxies[1].ip, proxies[2].ip })

      local res = get(sb, ORDER .. "12347")
      o = decode(res).order
      assert.truthy(res.body:find('"addons":[]', 1, true))
      assert.are.equal(0, o.p0f_slots_available)
      assert.are.equal(0, o.p0f_slots_used)
      assert.are.equal(0, o.p0f_slots_next)
      assert.are.equal(cjson.null, o.tag)
    end)

    it("answers /me without a success field", function()
      local res = get(sb, "/user/api/me")
      assert.are.equal(200, res.status)
      -- active: 12345, 12347 and the two residential orders 12400, 12401
      assert.are.same({ email = "dev@sandbox.proxyshard.test", active_orders = 4,
        wallet_balance = 10000 }, decode(res))
    end)

    it("lists the active proxies with signatures and the order tag", function()
      local body = decode(get(sb, "/user/api/proxies/active", "order_id=12345"))
      assert.is_true(body.success)
      assert.are.equal("sandbox", body.order_tag)
      assert.are.equal(5, #body.data)
      local first = body.data[1]
      assert.are.equal("203.0.113.10", first.ip)
      assert.are.equal("linux", first.signature)
      assert.are.equal("active", first.status)
      assert.are.equal("2026-12-01T09:00:00Z", first["until"])
      assert.are.equal("number", type(first.http_port))
      assert.are.equal("number", type(first.socks_port))
      assert.are.equal("string", type(first.username))
      assert.are.equal("string", type(first.password))
      assert.are.equal(cjson.null, body.data[2].signature)
      assert.are.equal("203.0.113.14", body.data[5].ip)
    end)

    it("validates order_id of the active proxy list", function()
      assert.truthy(err(get(sb, "/user/api/proxies/active"), 400):find("order_id", 1, true))
      assert.truthy(err(get(sb, "/user/api/proxies/active", "order_id=x"), 400)
        :find("order_id", 1, true))
      assert.are.equal("Order not found", err(get(sb, "/user/api/proxies/active", "order_id=1"), 404))
    end)

    it("keeps instances independent of each other and of the fixture module", function()
      post(sb, ORDER .. "12345/addons/purchase", { addon_key = "p0f_slots", add_qty = 1 })
      assert.are.equal(9970, decode(get(sb, "/user/api/me")).wallet_balance)
      assert.are.equal(10000, fixture.account.wallet_balance)
      assert.are.equal(10000, decode(get(State.new(), "/user/api/me")).wallet_balance)
    end)

    it("accepts a custom fixture and token", function()
      local sb2 = State.new {
        token = "t2",
        fixture = { account = { email = "x@y.test", wallet_balance = 5 }, orders = {} },
      }
      local res = sb2:handle { method = "GET", path = "/user/api/me",
        headers = { Authorization = "Bearer t2" } }
      assert.are.same({ email = "x@y.test", active_orders = 0, wallet_balance = 5 }, decode(res))
      assert.are.equal(401, get(sb2, "/user/api/me").status)
    end)

    local copy = require("proxyshard.sandbox.state").deep_copy

    -- A copy of the fixture with order 12347 changed by `edit`.
    local function fixture_with(edit)
      local f = copy(fixture)
      edit(f.orders[3])
      return f
    end

    it("refuses a fixture whose IPs would get a null `until` (a required string)", function()
      local ok, why = pcall(State.new, { fixture = fixture_with(function(o) o.expires_at = nil end) })
      assert.is_false(ok)
      assert.truthy(tostring(why):find("fixture: order 12347 has IPs but no expires_at string", 1, true),
        tostring(why))
      -- without IPs there is no `until` to write, so no expiry is needed
      local sb2 = State.new { fixture = fixture_with(function(o) o.expires_at, o.ips = nil, {} end) }
      local body = decode(get(sb2, "/user/api/proxies/active", "order_id=12347"))
      assert.are.same({}, body.data)
      assert.are.equal(cjson.null, decode(get(sb2, ORDER .. "12347")).order.expires_at)
    end)

    it("refuses a fixture IP without the fields ActiveProxyItem requires", function()
      local ok, why = pcall(State.new, { fixture = fixture_with(function(o) o.ips[2].socks_port = "9002" end) })
      assert.is_false(ok)
      assert.truthy(tostring(why):find("order 12347, IP 2: socks_port must be an integer", 1, true),
        tostring(why))
      ok, why = pcall(State.new, { fixture = fixture_with(function(o) o.ips[1].password = nil end) })
      assert.is_false(ok)
      assert.truthy(tostring(why):find("IP 1: password must be a string", 1, true), tostring(why))
    end)

    it("writes `until` as a string for every active proxy of the fixture", function()
      for _, id in ipairs { 12345, 12346, 12347 } do
        for _, item in ipairs(decode(get(sb, "/user/api/proxies/active", "order_id=" .. id)).data) do
          assert.are.equal("string", type(item["until"]), id .. " " .. item.ip)
        end
      end
    end)
  end)

  describe("limits shared with the client (proxyshard.check.validate)", function()
    local calculate = ORDER .. "12345/addons/calculate"

    it("takes up to validate.MAX_QTY units in one call, and refuses one more", function()
      local max = validate.MAX_QTY
      local res = get(sb, calculate, "addon_key=p0f_slots&add_qty=" .. max)
      assert.are.equal(200, res.status)
      assert.are.equal(max * 30, decode(res).add_total)
      local refused = ("add_qty must be an integer from 1 to %d, got %d"):format(max, max + 1)
      assert.are.equal("Invalid query: " .. refused,
        err(get(sb, calculate, "addon_key=p0f_slots&add_qty=" .. (max + 1)), 400))
      assert.are.equal("Invalid body: " .. refused,
        err(post(sb, ORDER .. "12345/addons/purchase", { addon_key = "p0f_slots", add_qty = max + 1 }), 400))
      -- the largest purchase the client allows gets as far as the balance check
      assert.are.equal("Insufficient balance",
        err(post(sb, ORDER .. "12345/addons/purchase", { addon_key = "p0f_slots", add_qty = max }), 400))
    end)

    it("accepts every signature the client accepts", function()
      for i, sig in ipairs(validate.SIGNATURES) do
        local res = post(sb, ORDER .. "12345/signature/set",
          { items = { { ip = "203.0.113.10", signature = sig } } })
        assert.are.equal(200, res.status, sig .. " #" .. i)
      end
    end)
  end)

  describe("auth and routing", function()
    it("needs the exact bearer token on /user/api/*", function()
      local paths = { "/user/api/me", ORDER .. "12345", "/user/api/nothing-here" }
      for _, p in ipairs(paths) do
        assert.are.equal("Unauthorized", err(get(sb, p, nil, {}), 401))
        assert.are.equal("Unauthorized", err(get(sb, p, nil, { authorization = "Bearer nope" }), 401))
        assert.are.equal("Unauthorized",
          err(get(sb, p, nil, { authorization = "bearer " .. TOKEN }), 401))
        assert.are.equal("Unauthorized", err(get(sb, p, nil, { authorization = TOKEN }), 401))
      end
    end)

    it("answers 404 for unknown paths and 405 for a wrong method", function()
      assert.are.equal("Not found", err(get(sb, "/user/api/nothing"), 404))
      assert.are.equal("Not found", err(get(sb, "/elsewhere"), 404))
      assert.are.equal("Not found", err(get(sb, ORDER .. "12345/"), 404))
      local res = post(sb, "/user/api/me", {})
      assert.are.equal("Method not allowed", err(res, 405))
      assert.are.equal("GET", res.headers.allow)
      res = get(sb, ORDER .. "12345/addons/purchase")
      err(res, 405)
      assert.are.equal("POST", res.headers.allow)
    end)

    it("answers 404 for unknown or malformed order ids", function()
      local buy = { addon_key = "p0f_slots", add_qty = 1 }
      assert.are.equal("Order not found", err(get(sb, ORDER .. "99999"), 404))
      assert.are.equal("Order not found", err(post(sb, ORDER .. "99999/addons/purchase", buy), 404))
      -- an id is digits only: anything else is no path of the API
      for _, id in ipairs { "-1", "abc", "12345.0", "1e3", "%31" } do
        assert.are.equal("Not found", err(get(sb, ORDER .. id), 404), id)
        assert.are.equal("Not found", err(post(sb, ORDER .. id .. "/addons/purchase", buy), 404), id)
      end
      -- digits, but no id the API can have: refused by the client's own check
      assert.are.equal('Invalid path: id must be a positive integer up to 2^53-1, got "0"',
        err(get(sb, ORDER .. "0"), 404))
      assert.are.equal('Invalid path: order_id must be a positive integer, got "99999999999999999999"',
        err(post(sb, ORDER .. "99999999999999999999/addons/purchase", buy), 404))
    end)

    it("splits a query string left in the path", function()
      local res = sb:handle { method = "GET", path = "/user/api/proxies/active?order_id=12347",
        headers = auth() }
      assert.are.equal(200, res.status)
      assert.are.equal(2, #decode(res).data)
    end)
  end)

  describe("POST bodies", function()
    local path = ORDER .. "12345/addons/purchase"
    local body = '{"addon_key":"p0f_slots","add_qty":1}'

    it("needs a Content-Length header", function()
      local res = post(sb, path, nil, auth { ["content-type"] = "application/json" })
      assert.are.equal("no Content-Length specified", err(res, 400))
    end)

    it("needs content-type application/json", function()
      local res = post(sb, path, body, auth { ["content-length"] = "38" })
      assert.are.equal("Content type error", err(res, 400))
      res = post(sb, path, body, auth { ["content-length"] = "38", ["content-type"] = "text/plain" })
      assert.are.equal("Content type error", err(res, 400))
      res = post(sb, path, body, auth {
        ["content-length"] = "38", ["content-type"] = "Application/JSON; charset=utf-8" })
      assert.are.equal(200, res.status)
    end)

    it("needs a JSON object", function()
      for _, raw in ipairs { "", "[]", "[1]", "42", '"x"', "{", "{'a':1}", '{"add_qty":NaN}' } do
        local msg = err(post(sb, path, raw), 400)
        assert.truthy(msg:find("^Json deserialize error: "), raw)
      end
    end)

    it("rejects non-integer numbers, strings and booleans for integer fields", function()
      local function refused(v)
        return err(post(sb, path, '{"addon_key":"p0f_slots","add_qty":' .. v .. "}"), 400)
      end
      local must = "Invalid body: add_qty must be an integer from 1 to 10000, got "
      assert.are.equal(must .. "2.5", refused("2.5"))
      assert.are.equal(must .. '"2"', refused('"2"'))
      assert.are.equal(must .. "true", refused("true"))
      assert.are.equal(must .. "[] or {}", refused("[]"))
      assert.are.equal(must .. "an array", refused("[1]"))
      assert.are.equal(must .. "an object", refused('{"n":1}'))
      assert.are.equal(must .. "inf", refused("1e400"))
      assert.are.equal("Invalid body: add_qty is required", refused("null"))
      assert.are.equal("Invalid body: addon_key is required", err(post(sb, path, '{"add_qty":1}'), 400))
      assert.are.equal("Invalid body: addon_key must match [a-z0-9_]+, got 5",
        err(post(sb, path, '{"addon_key":5,"add_qty":1}'), 400))
      assert.are.equal(10000, decode(get(sb, "/user/api/me")).wallet_balance)
    end)

    it("accepts integral numbers however JSON writes them", function()
      assert.are.equal(200, post(sb, path, '{"addon_key":"p0f_slots","add_qty":2.0}').status)
      assert.are.equal(200, post(sb, path, '{"addon_key":"p0f_slots","add_qty":1e0}').status)
      assert.are.equal(10000 - 90, decode(get(sb, "/user/api/me")).wallet_balance)
    end)
  end)

  describe("addons/calculate", function()
    local path = ORDER .. "12345/addons/calculate"

    it("previews the price", function()
      local res = get(sb, path, "addon_key=p0f_slots&add_qty=2")
      assert.are.equal(200, res.status)
      assert.are.same({ success = true, addon_key = "p0f_slots", catalog_id = 1, price_per_unit = 30,
        current_qty = 3, add_qty = 2, new_qty = 5, add_total = 60 }, decode(res))
      assert.truthy(res.body:find('"add_total":60', 1, true))
    end)

    it("percent-decodes the query", function()
      local res = get(sb, path, "addon%5Fkey=p0f%5fslots&add_qty=%32")
      assert.are.equal(200, res.status)
      assert.are.equal(2, decode(res).add_qty)
    end)

    it("prices an order without the add-on from the catalog", function()
      local body = decode(get(sb, ORDER .. "12347/addons/calculate", "addon_key=p0f_slots&add_qty=4"))
      assert.are.same({ success = true, addon_key = "p0f_slots", catalog_id = 1, price_per_unit = 30,
        current_qty = 0, add_qty = 4, new_qty = 4, add_total = 120 }, body)
    end)

    it("validates addon_key, add_qty and the order", function()
      assert.truthy(err(get(sb, path, "add_qty=2"), 400):find("addon_key", 1, true))
      assert.are.equal("Unknown addon_key", err(get(sb, path, "addon_key=gold&add_qty=2"), 400))
      assert.truthy(err(get(sb, path, "addon_key=p0f_slots"), 400):find("add_qty", 1, true))
      for _, q in ipairs { "2.5", "abc", "", "1e2" } do
        assert.truthy(err(get(sb, path, "addon_key=p0f_slots&add_qty=" .. q), 400)
          :find("add_qty", 1, true), q)
      end
      assert.are.equal(400, get(sb, path, "addon_key=p0f_slots&add_qty=0").status)
      assert.are.equal(400, get(sb, path, "addon_key=p0f_slots&add_qty=-3").status)
      assert.are.equal("Invalid query: add_qty must be an integer from 1 to 10000, got 10001",
        err(get(sb, path, "addon_key=p0f_slots&add_qty=10001"), 400))
      assert.are.equal('Invalid query: add_qty must be an integer from 1 to 10000, got "2.5"',
        err(get(sb, path, "addon_key=p0f_slots&add_qty=2.5"), 400))
      assert.are.equal("Invalid query: addon_key is required", err(get(sb, path, "add_qty=2"), 400))
      assert.are.equal(300000, decode(get(sb, path, "addon_key=p0f_slots&add_qty=10000")).add_total)
      assert.are.equal("Order is not active",
        err(get(sb, ORDER .. "12346/addons/calculate", "addon_key=p0f_slots&add_qty=1"), 400))
    end)
  end)

  describe("addons/purchase", function()
    local path = ORDER .. "12345/addons/purchase"

    it("charges the wallet, adds units and records the charge", function()
      local res = post(sb, path, { addon_key = "p0f_slots", add_qty = 2 })
      assert.are.equal(200, res.status)
      local body = decode(res)
      assert.are.equal(true, body.success)
      assert.are.equal("Add-on purchased", body.message)
      assert.are.equal(150, body.addons_price_paid)
      assert.truthy(res.body:find('"addons_price_paid":150,', 1, true))
      assert.are.same({ { addon_key = "p0f_slots", catalog_id = 1, qty = 5, price_per_unit = 30,
        pending = cjson.null } }, body.addons)
      assert.are.equal(9940, decode(get(sb, "/user/api/me")).wallet_balance)
      local o = decode(get(sb, ORDER .. "12345")).order
      assert.are.equal(5, o.p0f_slots_available)
      assert.are.equal(150, o.addons_price_paid)

      post(sb, path, { addon_key = "p0f_slots", add_qty = 1 })
      -- requests 2 and 3 were the two GETs above; no clock, so no at_ms
      assert.are.same({
        { seq = 1, kind = "addon", order_id = 12345, addon_key = "p0f_slots", qty = 2, amount_cents = 60,
          balance_after_cents = 9940, at = 1, request = 1, requests_seen = 1 },
        { seq = 2, kind = "addon", order_id = 12345, addon_key = "p0f_slots", qty = 1, amount_cents = 30,
          balance_after_cents = 9910, at = 2, request = 4, requests_seen = 4 },
      }, sb:ledger())
    end)

    it("creates the add-on line on an order that has none", function()
      local body = decode(post(sb, ORDER .. "12347/addons/purchase", { addon_key = "p0f_slots", add_qty = 2 }))
      assert.are.equal(60, body.addons_price_paid)
      assert.are.same({ { addon_key = "p0f_slots", catalog_id = 1, qty = 2, price_per_unit = 30,
        pending = cjson.null } }, body.addons)
    end)

    it("refuses when the wallet is short and changes nothing", function()
      local before = sb:snapshot()
      local res = post(sb, path, { addon_key = "p0f_slots", add_qty = 334 }) -- 10020 cents
      assert.are.equal("Insufficient balance", err(res, 400))
      local after = sb:snapshot()
      assert.are.same(before.account, after.account)
      assert.are.same(before.orders, after.orders)
      assert.are.same({}, sb:ledger())
      -- exactly the balance is fine
      res = post(sb, path, { addon_key = "p0f_slots", add_qty = 333 }) -- 9990 cents
      assert.are.equal(200, res.status)
      assert.are.equal(10, decode(get(sb, "/user/api/me")).wallet_balance)
    end)

    it("validates like calculate", function()
      assert.are.equal("Unknown addon_key", err(post(sb, path, { addon_key = "x", add_qty = 1 }), 400))
      assert.are.equal(400, post(sb, path, { addon_key = "p0f_slots", add_qty = 0 }).status)
      assert.are.equal("Invalid body: add_qty must be an integer from 1 to 10000, got 10001",
        err(post(sb, path, { addon_key = "p0f_slots", add_qty = 10001 }), 400))
      assert.are.equal("Order is not active",
        err(post(sb, ORDER .. "12346/addons/purchase", { addon_key = "p0f_slots", add_qty = 1 }), 400))
      assert.are.same({}, sb:ledger())
    end)
  end)

  describe("addons/schedule and schedule/cancel", function()
    local schedule = ORDER .. "12345/addons/schedule"
    local cancel = ORDER .. "12345/addons/schedule/cancel"

    it("stores a pending downgrade and clears it", function()
      local res = post(sb, schedule, { addon_key = "p0f_slots", action = "downgrade", next_qty = 1 })
      assert.are.equal(200, res.status)
      local body = decode(res)
      assert.are.equal("Downgrade scheduled", body.message)
      assert.are.same({ action = "downgrade", next_qty = 1 }, body.addons[1].pending)
      local o = decode(get(sb, ORDER .. "12345")).order
      assert.are.equal(1, o.p0f_slots_next)
      assert.are.equal(3, o.p0f_slots_available)

      res = post(sb, cancel, { addon_key = "p0f_slots" })
      assert.are.equal(200, res.status)
      body = decode(res)
      assert.are.equal("Pending downgrade cleared", body.message)
      assert.are.equal(cjson.null, body.addons[1].pending)
      assert.are.equal(3, decode(get(sb, ORDER .. "12345")).order.p0f_slots_next)
      assert.are.equal("No pending change", err(post(sb, cancel, { addon_key = "p0f_slots" }), 400))
    end)

    it("validates action, next_qty and the order", function()
      local function try(id, b) return post(sb, ORDER .. id .. "/addons/schedule", b) end
      assert.are.equal(400, try(12345, { addon_key = "p0f_slots", action = "cancel", next_qty = 1 }).status)
      assert.are.equal("next_qty must be less than current qty",
        err(try(12345, { addon_key = "p0f_slots", action = "downgrade", next_qty = 3 }), 400))
      assert.are.equal(400, try(12345, { addon_key = "p0f_slots", action = "downgrade", next_qty = 0 }).status)
      assert.truthy(err(try(12345, '{"action":"downgrade","addon_key":"p0f_slots","next_qty":1.5}'), 400)
        :find("next_qty", 1, true))
      assert.truthy(err(try(12345, { addon_key = "p0f_slots", next_qty = 1 }), 400):find("action", 1, true))
      assert.are.equal("Unknown addon_key",
        err(try(12345, { addon_key = "x", action = "downgrade", next_qty = 1 }), 400))
      assert.are.equal("Order is not active",
        err(try(12346, { addon_key = "p0f_slots", action = "downgrade", next_qty = 1 }), 400))
      assert.are.equal("p0f_slots add-on is not active",
        err(try(12347, { addon_key = "p0f_slots", action = "downgrade", next_qty = 1 }), 400))
      assert.are.equal(cjson.null, decode(get(sb, ORDER .. "12345")).order.addons[1].pending)
    end)
  end)

  describe("signature/set", function()
    local path = ORDER .. "12345/signature/set"
    local function items(...)
      local out = json.array()
      local args = { ... }
      for i = 1, #args, 2 do out[#out + 1] = { ip = args[i], signature = args[i + 1] } end
      return { items = out }
    end
    local function signatures(id)
      local out = {}
      for _, p in ipairs(decode(get(sb, "/user/api/proxies/active", "order_id=" .. id)).data) do
        out[p.ip] = p.signature ~= cjson.null and p.signature or nil
      end
      return out
    end

    it("signs new IPs using slots, re-signs without using any", function()
      local res = post(sb, path, items("203.0.113.11", "win11", "203.0.113.10", "macos"))
      assert.are.same({ success = true, message = "Signatures updated", updated = 2 }, decode(res))
      assert.are.same({ ["203.0.113.10"] = "macos", ["203.0.113.11"] = "win11" }, signatures(12345))
      assert.are.equal(2, decode(get(sb, ORDER .. "12345")).order.p0f_slots_used)
      -- re-signing both: no new slot
      res = post(sb, path, items("203.0.113.11", "android", "203.0.113.10", "linux"))
      assert.are.equal(2, decode(res).updated)
      assert.are.equal(2, decode(get(sb, ORDER .. "12345")).order.p0f_slots_used)
    end)

    it("counts the same IP once", function()
      local res = post(sb, path, items("203.0.113.12", "ios", "203.0.113.12", "win10", "203.0.113.13", "ios"))
      assert.are.equal(2, decode(res).updated)
      assert.are.equal("win10", signatures(12345)["203.0.113.12"])
      assert.are.equal(3, decode(get(sb, ORDER .. "12345")).order.p0f_slots_used)
    end)

    it("is all-or-nothing when slots run out", function()
      local before = sb:snapshot()
      local res = post(sb, path, items("203.0.113.11", "ios", "203.0.113.12", "ios", "203.0.113.13", "ios"))
      assert.are.equal("Not enough p0f slots: need 3, free 2", err(res, 400))
      assert.are.same(before.orders, sb:snapshot().orders)
      -- a slot taken for good: after a downgrade is scheduled, slots stay used
      post(sb, path, items("203.0.113.11", "ios", "203.0.113.12", "ios"))
      res = post(sb, path, items("203.0.113.14", "ios", "203.0.113.10", "win10"))
      assert.are.equal("Not enough p0f slots: need 1, free 0", err(res, 400))
      assert.are.equal("linux", signatures(12345)["203.0.113.10"])
    end)

    it("validates items, IPs and signature values", function()
      assert.are.equal("IP 1.2.3.4 does not belong to order",
        err(post(sb, path, items("203.0.113.11", "ios", "1.2.3.4", "ios")), 400))
      assert.are.equal("IP 198.51.100.20 does not belong to order",
        err(post(sb, path, items("198.51.100.20", "ios")), 400))
      assert.truthy(err(post(sb, path, items("203.0.113.11", "win7")), 400):find("win7", 1, true))
      assert.are.equal(400, post(sb, path, '{"items":[]}').status)
      assert.are.equal(400, post(sb, path, '{"items":{"ip":"203.0.113.11"}}').status)
      assert.are.equal(400, post(sb, path, '{"items":"203.0.113.11"}').status)
      assert.are.equal(400, post(sb, path, '{"items":[{"ip":"203.0.113.11"}]}').status)
      assert.are.equal(400, post(sb, path, '{"items":[{"ip":7,"signature":"ios"}]}').status)
      assert.are.equal(400, post(sb, path, '{}').status)
      assert.are.same({ ["203.0.113.10"] = "linux" }, signatures(12345))
    end)

    it("needs an active p0f_slots line, which a purchase creates", function()
      local p = ORDER .. "12347/signature/set"
      assert.are.equal("p0f_slots add-on is not active", err(post(sb, p, items("198.51.100.20", "ios")), 400))
      post(sb, ORDER .. "12347/addons/purchase", { addon_key = "p0f_slots", add_qty = 1 })
      assert.are.equal(1, decode(post(sb, p, items("198.51.100.20", "ios"))).updated)
      assert.are.equal("Not enough p0f slots: need 1, free 0",
        err(post(sb, p, items("198.51.100.21", "ios")), 400))
    end)

    it("works on the IPv6 order", function()
      local p = ORDER .. "12346/signature/set"
      assert.are.equal(1, decode(post(sb, p, items("2001:db8::11", "win11"))).updated)
      assert.are.equal("win11", signatures(12346)["2001:db8::11"])
    end)

    it("compares IPs by their canonical spelling (proxyshard.wire.ip)", function()
      local p = ORDER .. "12346/signature/set" -- 2001:db8::10 and ::11, one slot
      assert.are.equal(1, decode(post(sb, p, items("2001:0db8:0:0:0:0:0:11", "win11"))).updated)
      assert.are.same({ ["2001:db8::11"] = "win11" }, signatures(12346))
      -- another spelling of the signed IP re-signs it: no second slot needed
      assert.are.equal(1, decode(post(sb, p, items("2001:DB8::0011", "ios"))).updated)
      assert.are.same({ ["2001:db8::11"] = "ios" }, signatures(12346))
      -- two spellings in one request are one IP, the last value wins
      assert.are.equal(1, decode(post(sb, p, items("2001:db8::11", "linux", "2001:db8:0::11", "macos"))).updated)
      assert.are.same({ ["2001:db8::11"] = "macos" }, signatures(12346))
      -- the error names the IP as it was sent; a dotted quad with a leading
      -- zero is no spelling of 203.0.113.10
      assert.are.equal("IP 2001:DB8::12 does not belong to order", err(post(sb, p, items("2001:DB8::12", "ios")), 400))
      assert.are.equal("IP 203.0.113.010 does not belong to order",
        err(post(sb, ORDER .. "12345/signature/set", items("203.0.113.010", "ios")), 400))
    end)
  end)

  describe("request log, ledger, snapshot, reset", function()
    it("logs API requests with the token redacted, but not control requests", function()
      post(sb, ORDER .. "12345/addons/purchase", { addon_key = "p0f_slots", add_qty = 1 })
      get(sb, "/user/api/proxies/active", "order_id=12345")
      sb:handle { method = "GET", path = "/_sandbox/ledger" }
      local log = sb:requests()
      assert.are.equal(2, #log)
      assert.are.equal("POST", log[1].method)
      assert.are.equal(ORDER .. "12345/addons/purchase", log[1].path)
      assert.are.equal('{"add_qty":1,"addon_key":"p0f_slots"}', log[1].body)
      assert.are.equal("[redacted]", log[1].headers.authorization)
      assert.are.equal("application/json", log[1].headers["content-type"])
      assert.are.equal("order_id=12345", log[2].query)
      log[1].method = "changed"
      assert.are.equal("POST", sb:requests()[1].method)
    end)

    it("numbers requests; the ledger says which request charged and how many had come", function()
      get(sb, "/user/api/me")
      post(sb, ORDER .. "12345/addons/purchase", { addon_key = "p0f_slots", add_qty = 1 })
      sb:handle { method = "GET", path = "/_sandbox/ledger" } -- control requests are not counted
      get(sb, "/user/api/me")
      local log = sb:requests()
      assert.are.same({ 1, 2, 3 }, { log[1].seq, log[2].seq, log[3].seq })
      assert.are.same({ 2, 2 }, { sb:ledger()[1].request, sb:ledger()[1].requests_seen })
      assert.is_nil(log[1].at_ms) -- no clock given
      sb:reset()
      get(sb, "/user/api/me")
      assert.are.equal(1, sb:requests()[1].seq)
    end)

    it("stamps requests and charges with at_ms, milliseconds since the reset, given a clock", function()
      local now = 100.0
      local timed = State.new { clock = function() return now end }
      now = 100.25
      get(timed, "/user/api/me")
      now = 101.5
      post(timed, ORDER .. "12345/addons/purchase", { addon_key = "p0f_slots", add_qty = 1 })
      local log = timed:requests()
      assert.are.same({ 250, 1500 }, { log[1].at_ms, log[2].at_ms })
      assert.are.equal(1500, timed:ledger()[1].at_ms)
      now = 200
      timed:reset()
      now = 200.004
      get(timed, "/user/api/me")
      assert.are.equal(4, timed:requests()[1].at_ms)
    end)

    it("gives copies of the ledger and the state", function()
      post(sb, ORDER .. "12345/addons/purchase", { addon_key = "p0f_slots", add_qty = 1 })
      local ledger = sb:ledger()
      ledger[1].amount_cents = 0
      assert.are.equal(30, sb:ledger()[1].amount_cents)
      local snap = sb:snapshot()
      assert.are.equal(9970, snap.account.wallet_balance)
      snap.account.wallet_balance = 1
      assert.are.equal(9970, sb:snapshot().account.wallet_balance)
      assert.are.equal(#fixture.orders, #snap.orders)
    end)

    it("resets everything through the control endpoint", function()
      post(sb, ORDER .. "12345/addons/purchase", { addon_key = "p0f_slots", add_qty = 1 })
      sb:handle { method = "POST", path = "/_sandbox/faults", body = '{"path":"/user/api/me","status":500}' }
      local res = sb:handle { method = "POST", path = "/_sandbox/reset" }
      assert.are.equal(200, res.status)
      assert.are.same({}, sb:ledger())
      assert.are.same({}, sb:requests())
      assert.are.same({}, sb:snapshot().faults)
      local me = get(sb, "/user/api/me")
      assert.are.equal(200, me.status)
      assert.are.equal(10000, decode(me).wallet_balance)
      local o = decode(get(sb, ORDER .. "12345")).order
      assert.are.equal(3, o.p0f_slots_available)
      assert.are.equal(90, o.addons_price_paid)
    end)

    it("resets new orders, stock, residential traffic, sub-users and id counters too", function()
      local c = require("proxyshard.sandbox.caller").new(sb)
      local before = sb:snapshot()
      assert.are.equal(200, c:post("/user/api/orders/purchase",
        { product = "ISP Proxy", location = "US", cycle = "monthly", quantity = 2 }).status)
      assert.are.equal(200, c:post("/user/api/proxies/sub-user", { name = "x", data = 1 }, { proxy_type = "premium" })
        .status)
      assert.are.equal(200, c:post(ORDER .. "12346/renew").status)
      c:post("/_sandbox/reset")
      local after = sb:snapshot()
      for _, part in ipairs { "account", "orders", "stock", "residential" } do
        assert.are.same(before[part], after[part], part)
      end
      assert.are.equal(404, c:get(ORDER .. "20000").status)
      assert.are.equal(20000, c:post("/user/api/orders/purchase",
        { product = "ISP Proxy", location = "US", cycle = "monthly" }).json.order_id)
      assert.are.equal("u-4", c:post("/user/api/proxies/sub-user", { name = "x", data = 1 },
        { proxy_type = "premium" }).json.data[1].user_id)
    end)

    it("serves ledger, requests and state as JSON", function()
      post(sb, ORDER .. "12345/addons/purchase", { addon_key = "p0f_slots", add_qty = 2 })
      local res = sb:handle { method = "GET", path = "/_sandbox/ledger" }
      assert.are.equal(200, res.status)
      assert.are.equal(60, decode(res).ledger[1].amount_cents)
      res = sb:handle { method = "GET", path = "/_sandbox/requests" }
      assert.are.equal("[redacted]", decode(res).requests[1].headers.authorization)
      res = sb:handle { method = "GET", path = "/_sandbox/state" }
      local st = decode(res)
      assert.are.equal(9940, st.account.wallet_balance)
      assert.are.equal(12347, st.orders[3].order_id)
      assert.truthy(res.body:find('"faults":[]', 1, true))
      assert.are.equal(404, sb:handle { method = "GET", path = "/_sandbox/nothing" }.status)
      assert.are.equal(405, sb:handle { method = "GET", path = "/_sandbox/reset" }.status)
      res = sb:handle { method = "GET", path = "/_sandbox/ledger" }
      assert.truthy(res.body ~= nil)
      assert.are.equal(1, #sb:requests())
    end)
  end)

  describe("fault injection", function()
    local function add_fault(spec)
      -- cjson, not proxyshard.json: some rules carry deliberately bad fractions
      local res = sb:handle { method = "POST", path = "/_sandbox/faults", body = cjson.encode(spec),
        headers = { ["content-type"] = "application/json" } }
      return res, decode(res)
    end
    local purchase = ORDER .. "12345/addons/purchase"

    it("answers with the canned response instead of handling, `times` times", function()
      local res = add_fault { method = "post", path = purchase, status = 503,
        body = "<html>down</html>", content_type = "text/html", times = 2 }
      assert.are.equal(200, res.status)
      for _ = 1, 2 do
        res = post(sb, purchase, { addon_key = "p0f_slots", add_qty = 1 })
        assert.are.equal(503, res.status)
        assert.are.equal("text/html", res.headers["content-type"])
        assert.are.equal("<html>down</html>", res.body)
        assert.is_nil(res.delay)
      end
      assert.are.equal(10000, decode(get(sb, "/user/api/me")).wallet_balance)
      assert.are.same({}, sb:ledger())
      assert.are.equal(200, post(sb, purchase, { addon_key = "p0f_slots", add_qty = 1 }).status)
      -- faulted requests are still logged
      assert.are.equal(4, #sb:requests())
    end)

    it("matches method and path (without the query)", function()
      add_fault { method = "GET", path = "/user/api/proxies/active", status = 502 }
      assert.are.equal(405, post(sb, "/user/api/proxies/active", {}).status)
      local res = get(sb, "/user/api/proxies/active", "order_id=12345")
      assert.are.equal(502, res.status)
      assert.are.equal("application/json", res.headers["content-type"])
      assert.are.equal(false, decode(res).success)
      assert.are.equal(200, get(sb, "/user/api/proxies/active", "order_id=12345").status)
    end)

    it("delays without a status and then handles normally", function()
      add_fault { path = "/user/api/me", delay_ms = 250 }
      local res = get(sb, "/user/api/me")
      assert.are.equal(200, res.status)
      assert.are.equal(0.25, res.delay)
      assert.is_nil(get(sb, "/user/api/me").delay)
    end)

    it("repeats forever with times = 0 until cleared", function()
      add_fault { path = "/user/api/me", status = 429, times = 0 }
      for _ = 1, 5 do assert.are.equal(429, get(sb, "/user/api/me").status) end
      local res = sb:handle { method = "GET", path = "/_sandbox/faults" }
      assert.are.equal(5, decode(res).faults[1].hits)
      res = sb:handle { method = "DELETE", path = "/_sandbox/faults" }
      assert.are.equal(200, res.status)
      assert.are.equal(200, get(sb, "/user/api/me").status)
    end)

    it("rejects malformed rules", function()
      for _, spec in ipairs {
        { status = 500 },                      -- no path
        { path = "user/api/me", status = 500 },
        { path = "/x", status = 99 },
        { path = "/x", status = 500.5 },
        { path = "/x", times = -1 },
        { path = "/x", delay_ms = "10" },
        { path = "/x", method = 1 },
      } do
        local res = add_fault(spec)
        assert.are.equal(400, res.status, cjson.encode(spec))
        assert.are.equal(false, decode(res).success)
      end
      assert.are.equal(400, sb:handle { method = "POST", path = "/_sandbox/faults", body = "[]" }.status)
      assert.are.equal(200, get(sb, "/user/api/me").status)
    end)

    local buy = { addon_key = "p0f_slots", add_qty = 1 }

    it("drop without commit: the would-be answer, nothing charged", function()
      local _, added = add_fault { method = "POST", path = purchase, action = "drop" }
      local res = post(sb, purchase, buy)
      -- the answer the request would have had, and what the server must do
      assert.are.equal(200, res.status)
      assert.are.equal(4, decode(res).addons[1].qty)
      assert.are.same({ id = added.fault.id, action = "drop", commit = false, committed = false },
        res.fault)
      -- ... but the state is untouched: no charge, no units
      assert.are.same({}, sb:ledger())
      assert.are.equal(10000, decode(get(sb, "/user/api/me")).wallet_balance)
      assert.are.equal(3, decode(get(sb, ORDER .. "12345")).order.p0f_slots_available)
      local log = sb:requests()
      assert.are.equal(added.fault.id, log[1].fault)
      assert.is_false(log[1].committed)
      assert.is_nil(log[2].fault)
      assert.is_true(log[2].committed)
    end)

    it("drop with commit: charged and written to the ledger first", function()
      add_fault { method = "POST", path = purchase, action = "drop", commit = true }
      local res = post(sb, purchase, buy)
      assert.are.equal("drop", res.fault.action)
      assert.is_true(res.fault.committed)
      assert.are.equal(200, res.status)
      assert.are.equal(1, #sb:ledger())
      assert.are.equal(30, sb:ledger()[1].amount_cents)
      assert.are.equal(9970, decode(get(sb, "/user/api/me")).wallet_balance)
      assert.is_true(sb:requests()[1].committed)
    end)

    it("a canned status with commit: charged, then the canned answer", function()
      add_fault { method = "POST", path = purchase, status = 502, content_type = "text/html",
        body = "<html>502 Bad Gateway</html>", commit = true }
      local res = post(sb, purchase, buy)
      assert.are.equal(502, res.status)
      assert.are.equal("text/html", res.headers["content-type"])
      assert.are.equal("<html>502 Bad Gateway</html>", res.body)
      assert.are.same({ "answer", true }, { res.fault.action, res.fault.committed })
      assert.are.equal(1, #sb:ledger())
    end)

    it("a canned status without commit leaves the state alone (as before)", function()
      add_fault { method = "POST", path = purchase, status = 500, action = "answer" }
      assert.are.equal(500, post(sb, purchase, buy).status)
      assert.are.same({}, sb:ledger())
      assert.is_false(sb:requests()[1].committed)
    end)

    it("a dry run leaves every part of the state as it was", function()
      add_fault { method = "POST", path = ORDER .. "12345/signature/set", action = "truncate" }
      local before = sb:snapshot()
      local res = post(sb, ORDER .. "12345/signature/set",
        { items = { { ip = "203.0.113.12", signature = "ios" } } })
      assert.are.equal(200, res.status)
      assert.are.equal(1, decode(res).updated)
      local after = sb:snapshot()
      assert.are.same(before.orders, after.orders)
      assert.are.same(before.account, after.account)
      assert.are.same(before.ledger, after.ledger)
    end)

    it("a dry run leaves new orders, stock, residential traffic and id counters alone", function()
      local c = require("proxyshard.sandbox.caller").new(sb)
      add_fault { path = "/user/api/orders/purchase", action = "truncate" }
      add_fault { path = "/user/api/proxies/sub-user", action = "drop" }
      add_fault { path = ORDER .. "12346/renew", status = 502 }
      local before = sb:snapshot()
      local res = c:post("/user/api/orders/purchase", { product = "ISP Proxy", location = "DE", cycle = "monthly" })
      assert.are.same({ 200, 20000, "truncate" }, { res.status, res.json.order_id, res.fault.action })
      res = c:post("/user/api/proxies/sub-user", { name = "x", data = 1 }, { proxy_type = "premium" })
      assert.are.same({ 200, "u-4", "drop" }, { res.status, res.json.data[1].user_id, res.fault.action })
      assert.are.equal(502, c:post(ORDER .. "12346/renew").status)
      local after = sb:snapshot()
      for _, part in ipairs { "account", "orders", "stock", "residential" } do
        assert.are.same(before[part], after[part], part)
      end
      assert.are.same({}, sb:ledger())
      -- and the ids handed out in the dry run are handed out again
      assert.are.equal(20000, c:post("/user/api/orders/purchase",
        { product = "ISP Proxy", location = "DE", cycle = "monthly" }).json.order_id)
    end)

    it("truncate: the full answer and how many body bytes to send", function()
      add_fault { path = "/user/api/me", action = "truncate" }
      local res = get(sb, "/user/api/me")
      assert.are.equal(200, res.status)
      assert.are.equal(80, #res.body)
      assert.are.equal("truncate", res.fault.action)
      assert.are.equal(40, res.fault.send_bytes)
      add_fault { path = "/user/api/me", action = "truncate", status = 503, body = "abc" }
      res = get(sb, "/user/api/me")
      assert.are.same({ 503, "abc", 1 }, { res.status, res.body, res.fault.send_bytes })
    end)

    it("stall: stall_ms defaults to 30000", function()
      add_fault { path = "/user/api/me", action = "stall" }
      add_fault { path = "/user/api/me", action = "stall", stall_ms = 1500, delay_ms = 200 }
      local res = get(sb, "/user/api/me")
      assert.are.same({ "stall", 30000 }, { res.fault.action, res.fault.stall_ms })
      res = get(sb, "/user/api/me")
      assert.are.same({ "stall", 1500, 0.2 }, { res.fault.action, res.fault.stall_ms, res.delay })
    end)

    it("oversize: 200 application/json, exactly `size` bytes (default 2 MiB)", function()
      add_fault { path = "/user/api/me", action = "oversize" }
      local res = get(sb, "/user/api/me")
      assert.are.equal(200, res.status)
      assert.are.equal("application/json", res.headers["content-type"])
      assert.are.equal(2 * 1024 * 1024, #res.body)
      assert.are.equal(2 * 1024 * 1024, res.fault.size)
      assert.is_true(decode(res).success)
      for _, size in ipairs { 0, 1, 2, 3, 28, 29, 30, 5000 } do
        add_fault { path = "/user/api/me", action = "oversize", size = size }
        res = get(sb, "/user/api/me")
        assert.are.equal(size, #res.body)
        if size > 0 then assert.truthy(cjson.decode(res.body)) end
      end
      -- not charged unless commit is set
      add_fault { method = "POST", path = purchase, action = "oversize", size = 100 }
      assert.are.equal(100, #post(sb, purchase, buy).body)
      assert.are.same({}, sb:ledger())
    end)

    it("adds extra headers untouched, and huge junk headers", function()
      local date = "Wed, 21 Oct 2026 07:28:00 GMT"
      add_fault { path = "/user/api/me", status = 503, headers = { ["Retry-After"] = date },
        huge_headers = 3500 }
      local res = get(sb, "/user/api/me")
      assert.are.equal(503, res.status)
      assert.are.equal(date, res.headers["retry-after"])
      local pad, count = 0, 0
      for name, value in pairs(res.headers) do
        if name:match("^x%-pad%-%d+$") then
          pad, count = pad + #value, count + 1
          assert.truthy(#value <= 1000)
        end
      end
      assert.are.same({ 3500, 4 }, { pad, count })
      -- headers also go on a normally handled answer
      add_fault { path = "/user/api/me", headers = { ["Retry-After"] = "2" } }
      res = get(sb, "/user/api/me")
      assert.are.same({ 200, "2" }, { res.status, res.headers["retry-after"] })
    end)

    it("lists rules with their hit counts, spent ones too", function()
      add_fault { path = "/user/api/me", action = "drop", times = 2 }
      add_fault { path = ORDER .. "12345", status = 500, times = 0 }
      get(sb, "/user/api/me")
      get(sb, ORDER .. "12345")
      get(sb, ORDER .. "12345")
      local body = decode(sb:handle { method = "GET", path = "/_sandbox/faults" })
      assert.are.equal(2, #body.faults)
      assert.are.same({ 1, 1, "drop" }, { body.faults[1].hits, body.faults[1].times, body.faults[1].action })
      assert.are.equal(2, body.faults[2].hits)
      get(sb, "/user/api/me")
      body = decode(sb:handle { method = "GET", path = "/_sandbox/faults" })
      assert.are.equal(1, #body.faults)
      assert.are.equal(1, #body.spent)
      assert.are.same({ 2, 0 }, { body.spent[1].hits, body.spent[1].times })
      sb:handle { method = "DELETE", path = "/_sandbox/faults" }
      body = decode(sb:handle { method = "GET", path = "/_sandbox/faults" })
      assert.are.same({ {}, {} }, { body.faults, body.spent })
    end)

    describe('commit = "after_delay"', function()
      local late = { method = "POST", path = purchase, delay_ms = 2500, commit = "after_delay" }

      local function qty_now()
        return decode(get(sb, ORDER .. "12345")).order.addons[1].qty
      end

      it("answers with a promise: nothing is handled until finish() is called", function()
        local _, added = add_fault(late)
        assert.are.equal("after_delay", added.fault.commit)
        local res = post(sb, purchase, buy)
        assert.is_nil(res.status)
        assert.are.equal(2.5, res.delay)
        assert.are.equal("function", type(res.finish))
        assert.are.same({ id = added.fault.id, action = "answer", commit = "after_delay", committed = false },
          res.fault)
        -- meanwhile: not charged, and a re-read shows the order unchanged
        assert.are.same({}, sb:ledger())
        assert.are.equal(3, qty_now())
        assert.is_false(sb:requests()[1].committed)

        local final = res.finish()
        assert.are.equal(200, final.status)
        assert.is_nil(final.delay)
        assert.is_nil(final.finish)
        assert.are.equal(4, decode(final).addons[1].qty)
        assert.are.same({ id = added.fault.id, action = "answer", commit = "after_delay", committed = true },
          final.fault)
        local ledger = sb:ledger()
        assert.are.equal(1, #ledger)
        -- charged for request 1, after request 2 (the re-read) had arrived
        assert.are.same({ 30, 1, 2 }, { ledger[1].amount_cents, ledger[1].request, ledger[1].requests_seen })
        assert.are.equal(9970, decode(get(sb, "/user/api/me")).wallet_balance)
        assert.is_true(sb:requests()[1].committed)
      end)

      it("handles on the state as it is when the delay is over", function()
        add_fault(late)
        local res = post(sb, purchase, { addon_key = "p0f_slots", add_qty = 300 }) -- 9000 cents
        -- a second purchase lands first and leaves too little for the late one
        assert.are.equal(200, post(sb, purchase, { addon_key = "p0f_slots", add_qty = 100 }).status)
        local final = res.finish()
        assert.are.equal("Insufficient balance", err(final, 400))
        assert.are.equal(1, #sb:ledger())
      end)

      it("then shapes the answer: drop, or a canned status", function()
        add_fault { method = "POST", path = purchase, delay_ms = 100, commit = "after_delay", action = "drop" }
        local final = post(sb, purchase, buy).finish()
        assert.are.same({ "drop", true }, { final.fault.action, final.fault.committed })
        assert.are.equal(1, #sb:ledger())

        add_fault { method = "POST", path = purchase, delay_ms = 100, commit = "after_delay", status = 504,
          content_type = "text/html", body = "<html>504</html>", headers = { ["Retry-After"] = "1" } }
        final = post(sb, purchase, buy).finish()
        assert.are.same({ 504, "<html>504</html>", "1" }, { final.status, final.body, final.headers["retry-after"] })
        assert.are.equal(2, #sb:ledger())
        assert.are.equal(9940, decode(get(sb, "/user/api/me")).wallet_balance)
      end)

      it("a truncate counts the bytes of the real, late answer", function()
        add_fault { method = "POST", path = purchase, delay_ms = 100, commit = "after_delay", action = "truncate" }
        local final = post(sb, purchase, buy).finish()
        assert.are.equal(#final.body // 2, final.fault.send_bytes)
        assert.truthy(#final.body > 100)
      end)

      it("is cancelled by a reset during the wait: nothing handled, a plain 503", function()
        add_fault(late)
        local res = post(sb, purchase, buy)
        sb:handle { method = "POST", path = "/_sandbox/reset" }
        local final = res.finish()
        assert.truthy(err(final, 503):find("was reset while this request waited", 1, true))
        assert.are.same({ "answer", true, false }, { final.fault.action, final.fault.cancelled, final.fault.committed })
        assert.are.same({}, sb:ledger())
        assert.are.equal(10000, decode(get(sb, "/user/api/me")).wallet_balance)
      end)
    end)

    it("rejects malformed rules of the second version with a clear message", function()
      for _, case in ipairs {
        { { path = "/x", action = "explode" }, "action must be one of" },
        { { path = "/x", action = "DROP" }, "action must be one of" },
        { { path = "/x", action = 1 }, "action must be one of" },
        { { path = "/x", action = "oversize", size = -1 }, "size must be between" },
        { { path = "/x", action = "oversize", size = 1.5 }, "size must be an integer" },
        { { path = "/x", action = "drop", size = 10 }, "size only applies" },
        { { path = "/x", stall_ms = 10 }, "stall_ms only applies" },
        { { path = "/x", action = "stall", stall_ms = -5 }, "stall_ms must be between" },
        { { path = "/x", commit = "true" }, 'commit must be true, false or "after_delay"' },
        { { path = "/x", commit = 1 }, 'commit must be true, false or "after_delay"' },
        { { path = "/x", commit = "later", delay_ms = 10 }, 'commit must be true, false or "after_delay"' },
        { { path = "/x", commit = "after_delay" }, 'commit "after_delay" needs a delay_ms above 0' },
        { { path = "/x", commit = "after_delay", delay_ms = 0 }, "needs a delay_ms above 0" },
        { { path = "/x", headers = "Retry-After: 2" }, "headers must be an object" },
        { { path = "/x", headers = { "a" } }, "headers must be an object" },
        { { path = "/x", headers = { ["Retry-After"] = 2 } }, "must be a string" },
        { { path = "/x", headers = { ["Bad Name"] = "x" } }, "invalid header name" },
        { { path = "/x", headers = { ["X-A"] = "a\r\nX-B: b" } }, "control character" },
        { { path = "/x", headers = { ["Content-Length"] = "5" } }, "cannot be overridden" },
        { { path = "/x", huge_headers = -1 }, "huge_headers must be between" },
        { { path = "/x", delay = 10 }, "unknown field(s): delay" },
      } do
        local res, body = add_fault(case[1])
        assert.are.equal(400, res.status, cjson.encode(case[1]))
        assert.truthy(body.message:find(case[2], 1, true), body.message)
      end
      assert.are.same({}, sb.faults:list())
    end)

    it("passes the new fields through the rule listing", function()
      local _, body = add_fault { path = "/x", action = "stall", stall_ms = 10, commit = true,
        headers = { ["Retry-After"] = "1" }, huge_headers = 10 }
      assert.are.same({ "stall", 10, true, "1", 10 }, { body.fault.action, body.fault.stall_ms,
        body.fault.commit, body.fault.headers["Retry-After"], body.fault.huge_headers })
      _, body = add_fault { path = "/x" }
      assert.are.same({ "answer", false, 0 }, { body.fault.action, body.fault.commit, body.fault.huge_headers })
      assert.is_nil(body.fault.size)
      assert.is_nil(body.fault.stall_ms)
    end)
  end)

end)
