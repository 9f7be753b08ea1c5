-- Every call made from the operation table, over the fake transport: the
-- exact request it sends (method, URL with query, body, token or none) and
-- what it makes of the answer; and the flows on top (every spend priced
-- first: a new order under a cap, reconciled; renew and add_bandwidth at an
-- estimate, their charge read back; every page of a list).
local proxyshard = require "proxyshard"
local operations = require "proxyshard.operations"
local fake_transport = require "support.fake_transport"

local TOKEN = "tok_ops-0123456789"
local BASE = "https://user-api.proxyshard.com"

local function client_with(answers, opts)
  local fake = fake_transport.new(answers)
  fake.sleeps = {}
  opts = opts or {}
  opts.token, opts.transport = TOKEN, fake
  opts.sleep = function(s) fake.sleeps[#fake.sleeps + 1] = s end
  return proxyshard.new(opts), fake
end

local function ok(body) return { status = 200, headers = { ["content-type"] = "application/json" }, body = body } end

local ACK = ok '{"success":true,"message":"Done"}'

-- one call, one answer: the value, the request, the error
local function one(answer, run)
  local client, fake = client_with { answer }
  local value, err = run(client)
  return value, fake.requests[1], err, fake
end

describe("the operation table", function()
  it("has the 34 operations, each (handle, name) once, every GET a read", function()
    assert.are.equal(34, #operations.rows)
    local seen = {}
    for _, row in ipairs(operations.rows) do
      local key = row.handle .. ":" .. row.name
      assert.is_nil(seen[key], key)
      seen[key] = true
      assert.are.equal(row.method == "GET", row.class == "read", key)
      for _, p in ipairs(row.params) do
        assert.is_function(require("proxyshard.check.validate")[p.check], key .. " " .. p.name)
        if p.at == "path" then assert.truthy(row.path:find("{" .. p.wire .. "}", 1, true), key) end
      end
    end
  end)
end)

describe("client calls", function()
  it("products: a list with cycles", function()
    local list, req = one(ok('{"success":true,"products":[{"name":"Datacenter Proxy","location":"DE",'
      .. '"cycles":["monthly","quarterly"]}]}'), function(c) return c:products() end)
    assert.are.equal(BASE .. "/user/api/proxies/products", req.url)
    assert.are.equal("Datacenter Proxy", list[1].name)
    assert.are.same({ "monthly", "quarterly" }, { list[1].cycles[1], list[1].cycles[2] })
    assert.are.equal("Datacenter Proxy (DE): monthly, quarterly", tostring(list))
  end)

  it("available: a bare array", function()
    local list = one(ok '[{"country":"DE","product":"dc","amount":120}]', function(c) return c:available() end)
    assert.are.equal(120, list[1].amount)
    assert.are.equal("dc in DE: 120 available", tostring(list[1]))
  end)

  it("quote_order: the query with addons_json, money fields and the total", function()
    local q, req = one(ok('{"original_price":10000,"final_price":9000,"discount_percent":10,"addons_price":150,'
      .. '"total_with_addons":9150}'), function(c)
        return c:quote_order { product = "Datacenter Proxy", location = "DE", cycle = "monthly", quantity = 10,
          promo_code = "SAVE10", addons = { p0f_slots = 5 } }
      end)
    assert.are.equal(BASE .. "/user/api/orders/calculate?product=Datacenter%20Proxy&location=DE&cycle=monthly"
      .. "&quantity=10&promo_code=SAVE10&addons_json=%5B%7B%22addon_key%22%3A%22p0f_slots%22%2C%22qty%22%3A5%7D%5D",
      req.url)
    assert.are.equal(9150, q.total.cents)
    assert.are.equal(150, q.addons_price.cents)
    assert.are.equal(10, q.discount_percent)
    assert.are.equal("Datacenter Proxy ×10: $91.50 ($100.00 before a 10% discount)", tostring(q))
  end)

  it("quote_order: refuses a bad or unknown parameter before sending", function()
    for _, params in ipairs({ {}, { product = "" }, { product = "x", quantity = 0 }, { product = "x", qty = 1 },
        { product = "x", addons = { P0F = 1 } }, { product = "x", addons = { p0f_slots = 0 } } }) do
      local _, req, err = one(nil, function(c) return c:quote_order(params) end)
      assert.is_nil(req)
      assert.are.equal("invalid_argument", err.kind)
    end
  end)

  it("orders: one page, and where the next starts", function()
    local page, req = one(ok('{"success":true,"count":2,"next":"/user/api/orders?offset=2","orders":['
      .. '{"order_id":1,"product_name":"ISP Proxy","cycle_name":"monthly"},{"order_id":2}]}'),
      function(c) return c:orders { status = "active", limit = 2 } end)
    assert.are.equal(BASE .. "/user/api/orders?status=active&limit=2", req.url)
    assert.are.equal(2, #page.orders)
    assert.are.equal(2, page.next_offset)
    local _, _, err = one(nil, function(c) return c:orders { status = "open" } end)
    assert.are.equal("status", err.argument)
    _, _, err = one(nil, function(c) return c:orders { status = "all", limit = 101 } end)
    assert.are.equal("limit", err.argument)
  end)

  it("all_orders: every page, under one deadline", function()
    local client, fake = client_with {
      ok('{"success":true,"orders":[' .. ('{"order_id":1},'):rep(99) .. '{"order_id":2}]}'),
      ok '{"success":true,"orders":[{"order_id":3}]}',
    }
    local all = assert(client:all_orders { status = "all" })
    assert.are.equal(101, #all)
    assert.are.equal(BASE .. "/user/api/orders?status=all&offset=0&limit=100", fake.requests[1].url)
    assert.are.equal(BASE .. "/user/api/orders?status=all&offset=100&limit=100", fake.requests[2].url)
    local _, err = client:all_orders { status = "all", offset = 5 }
    assert.are.equal("invalid_argument", err.kind)
  end)

  it("health and live: true, and no token sent", function()
    for _, name in ipairs({ "health", "live" }) do
      local v, req = one({ status = 200, headers = { ["content-type"] = "text/plain" }, body = "Service is up" },
        function(c) return c[name](c) end)
      assert.is_true(v)
      assert.are.equal(BASE .. (name == "health" and "/health" or "/health/live"), req.url)
      for _, line in ipairs(req.headers) do assert.is_nil(line:lower():find("^authorization")) end
    end
    local v, _, err = one({ status = 503, body = "" }, function(c) return c:health { max_retries = 0 } end)
    assert.is_nil(v)
    assert.are.equal("server", err.kind)
  end)
end)

describe("purchase_order", function()
  local PARAMS = { product = "Datacenter Proxy", location = "DE", cycle = "monthly", quantity = 2 }
  local QUOTE = ok '{"original_price":600,"final_price":600,"discount_percent":0,"total_with_addons":600}'
  local BOUGHT = ok '{"success":true,"message":"Order paid successfully","order_id":20001}'
  -- PARAMS's quote, and the first page of the order list (the evidence)
  local QUOTED = BASE .. "/user/api/orders/calculate?product=Datacenter%20Proxy&location=DE&cycle=monthly&quantity=2"
  local LIST = BASE .. "/user/api/orders?status=all&offset=0&limit=100"
  local PURCHASE = BASE .. "/user/api/orders/purchase"

  it("sends the body and returns a receipt with the new order", function()
    local client, fake = client_with { ok('{"original_price":600,"final_price":600,"discount_percent":0,'
      .. '"addons_price":60,"total_with_addons":660}'), BOUGHT }
    local receipt = assert(client:purchase_order { product = "Datacenter Proxy", location = "DE", cycle = "monthly",
      quantity = 2, auto_renewal = true, addons = { p0f_slots = 2 } })
    -- priced first, with the purchase's own parameters (auto_renewal is not one the quote takes)
    assert.are.equal(2, #fake.requests)
    assert.are.same({ "GET", QUOTED .. "&addons_json=%5B%7B%22addon_key%22%3A%22p0f_slots%22%2C%22qty%22%3A2%7D%5D" },
      { fake.requests[1].method, fake.requests[1].url })
    local req = fake.requests[2]
    assert.are.equal("POST", req.method)
    assert.are.equal(PURCHASE, req.url)
    assert.are.equal('{"addons":[{"addon_key":"p0f_slots","qty":2}],"auto_renewal":true,"cycle":"monthly",'
      .. '"location":"DE","product":"Datacenter Proxy","quantity":2}', req.body)
    assert.is_true(req.no_resend)
    assert.are.equal(20001, receipt.order_id)
    assert.are.equal(20001, receipt:order().id)
    -- nothing seen of the charge: what it cost is the quote's total
    assert.are.same({ 660, 660 }, { receipt.quote.total.cents, receipt.charged.cents })
    assert.is_nil(receipt.estimated)
    assert.is_nil(receipt.overcharged)
    assert.are.equal("bought order 20001 (Datacenter Proxy) for $6.60 (Order paid successfully)", tostring(receipt))
  end)

  it("quotes first under max_total, and buys nothing above it", function()
    local client, fake = client_with { QUOTE, BOUGHT }
    local receipt = assert(client:purchase_order(PARAMS, { max_total = "6.00" }))
    assert.are.equal(600, receipt.quote.total.cents)
    assert.are.equal(2, #fake.requests)
    assert.are.same({ "GET", QUOTED }, { fake.requests[1].method, fake.requests[1].url })
    assert.are.same({ "POST", PURCHASE }, { fake.requests[2].method, fake.requests[2].url })
    client, fake = client_with { QUOTE }
    local r, err = client:purchase_order(PARAMS, { max_total = 599 })
    assert.is_nil(r)
    assert.are.equal("budget", err.kind)
    assert.is_false(err.bought)
    assert.are.equal(1, #fake.requests)
    assert.are.equal(QUOTED, fake.requests[1].url)
  end)

  it("refuses a quote without a total when add-ons make final_price not the whole price", function()
    local client, fake = client_with { ok '{"final_price":600}' }
    local r, err = client:purchase_order({ product = "Datacenter Proxy", addons = { p0f_slots = 1 } },
      { max_total = 10000 })
    assert.is_nil(r)
    -- no total to hold against the cap: refused as over budget, nothing bought
    assert.are.equal("budget", err.kind)
    assert.is_false(err.bought)
    assert.matches("has no price", err.message, 1, true)
    assert.matches("total_with_addons", err.message, 1, true)
    assert.are.equal(1, #fake.requests)
    assert.are.equal("GET", fake.requests[1].method)
  end)

  it("reconciles through the order list: one new order of the product", function()
    local before = ok '{"success":true,"orders":[{"order_id":12345,"product_name":"Datacenter Proxy"}]}'
    local after = ok('{"success":true,"orders":[{"order_id":12345,"product_name":"Datacenter Proxy"},'
      .. '{"order_id":20001,"product_name":"Datacenter Proxy"}]}')
    local lost = { error = { kind = "timeout", message = "Timeout was reached", request_sent = true } }
    local client, fake = client_with { QUOTE, before, lost, before, after }
    local receipt = assert(client:purchase_order(PARAMS, { reconcile = true }))
    assert.is_true(receipt.reconciled)
    assert.are.equal(20001, receipt.order_id)
    -- the quote, the list before, the purchase (lost), the list until the new order shows
    local seen = {}
    for i, req in ipairs(fake.requests) do seen[i] = req.method .. " " .. req.url end
    assert.are.same({ "GET " .. QUOTED, "GET " .. LIST, "POST " .. PURCHASE, "GET " .. LIST, "GET " .. LIST }, seen)
    assert.are.same({ 0.25 }, fake.sleeps)
    -- the order list shows no charge: what it cost is the quote's total
    assert.are.equal(600, receipt.charged.cents)
  end)

  it("never resends while the purchase may still land", function()
    local list = ok '{"success":true,"orders":[{"order_id":12345}]}'
    local answers = { QUOTE, list, { error = { kind = "network", message = "reset", request_sent = true } } }
    for _ = 1, 20 do answers[#answers + 1] = list end
    local client, fake = client_with(answers)
    local r, err = client:purchase_order(PARAMS, { reconcile = true, settle = 2 })
    assert.is_nil(r)
    assert.are.equal("unknown_outcome", err.kind)
    assert.are.equal(2, err.unchanged_for)
    assert.are.same({ "GET", QUOTED }, { fake.requests[1].method, fake.requests[1].url })
    assert.are.same({ "GET", LIST }, { fake.requests[2].method, fake.requests[2].url })
    assert.are.same({ "POST", PURCHASE }, { fake.requests[3].method, fake.requests[3].url })
    assert.is_true(#fake.requests > 4) -- re-read more than once
    local posts = 0
    for i, req in ipairs(fake.requests) do
      if req.method == "POST" then posts = posts + 1 end
      if i > 3 then assert.are.same({ "GET", LIST }, { req.method, req.url }) end -- re-reads only, no new quote
    end
    assert.are.equal(1, posts)
  end)

  it("refuses bad parameters before anything is sent, the quote included", function()
    local client, fake = client_with {}
    for _, params in ipairs({ { location = "DE" }, { product = "x", quantity = -1 },
        { product = "x", auto_renewal = 1 }, { product = "x", colour = "red" } }) do
      for _, opts in ipairs({ { max_total = 100 }, { reconcile = true }, {} }) do
        local r, err = client:purchase_order(params, opts)
        assert.is_nil(r)
        assert.are.equal("invalid_argument", err.kind)
      end
    end
    assert.are.equal(0, #fake.requests)
  end)
end)

describe("order calls", function()
  it("set_deletion: items with value, IPs compared canonically", function()
    local change, req = one(ACK, function(c)
      return c:order(12345):set_deletion { { ip = "203.0.113.7", value = true }, { ip = "203.0.113.8", value = false } }
    end)
    assert.are.equal(BASE .. "/user/api/orders/12345/del-np/set", req.url)
    assert.are.equal('{"items":[{"ip":"203.0.113.7","value":true},{"ip":"203.0.113.8","value":false}]}', req.body)
    assert.are.equal("Done", change.message)
    assert.are.equal("set_deletion: done (Done)", tostring(change))
    local _, _, err = one(nil, function(c)
      return c:order(1):set_deletion { { ip = "2001:db8::1", value = true }, { ip = "2001:DB8:0::1", value = false } }
    end)
    assert.are.equal("items[2].ip", err.argument)
    _, _, err = one(nil, function(c) return c:order(1):set_deletion { { ip = "1.2.3.4", value = "yes" } } end)
    assert.are.equal("items[1].value", err.argument)
  end)

  it("set_tag, change_cycle, set_auto_renewal: path, body and query", function()
    local _, req = one(ACK, function(c) return c:order(7):set_tag("scrapers") end)
    assert.are.equal(BASE .. "/user/api/orders/7/tag", req.url)
    assert.are.equal('{"tag":"scrapers"}', req.body)
    local change
    change, req = one(ok('{"success":true,"message":"Cycle changed","order_id":7,"original_price":3000,'
      .. '"final_price":2700,"discount_percent":10}'), function(c) return c:order(7):change_cycle("quarterly") end)
    assert.are.equal(BASE .. "/user/api/orders/change-billing-cycle/7", req.url)
    assert.are.equal('{"cycle":"quarterly"}', req.body)
    assert.are.equal(2700, change.final_price.cents)
    -- the 1.0.0 answer: a free-form order
    change = one(ok '{"success":true,"message":"ok","order":{"order_id":7,"x":1}}',
      function(c) return c:order(7):change_cycle("monthly") end)
    assert.are.equal(7, change.order_id)
    assert.is_nil(change.final_price)
    _, req = one(ACK, function(c) return c:order(7):set_auto_renewal(false) end)
    assert.are.equal(BASE .. "/user/api/orders/edit-auto-renewal/7?auto_renewal=false", req.url)
    -- the document gives it no body: an empty one (the transport's Content-Length: 0), no Content-Type
    assert.are.equal("", req.body)
    assert.is_nil(table.concat(req.headers, "\n"):lower():find("content-type", 1, true))
    local _, _, err = one(nil, function(c) return c:order(7):set_auto_renewal("on") end)
    assert.are.equal("enabled", err.argument)
  end)

  -- what a spend with an estimate sends: the order, the estimate (a new
  -- order's price), the evidence before, the spend, the evidence after
  local function sequence(fake)
    local seen = {}
    for i, req in ipairs(fake.requests) do seen[i] = req.method .. " " .. req.url end
    return seen
  end

  do -- add_bandwidth
    local ORDER = BASE .. "/user/api/orders/12400"
    local ME = BASE .. "/user/api/me"
    local function residential(gb)
      return ok(('{"success":true,"order":{"order_id":12400,"product_name":"Premium Residential Proxy",'
        .. '"cycle_name":"lifetime","status":"active","quantity":%d,"price_paid":15000,"addons_price_paid":0,'
        .. '"addons":[]}}'):format(gb))
    end
    local function me(cents)
      return ok(('{"email":"dev@example.com","active_orders":4,"wallet_balance":%d}'):format(cents))
    end
    -- 5 GB at $3.00, less SAVE10's 10%
    local ESTIMATE = ok '{"original_price":1500,"final_price":1350,"discount_percent":10,"total_with_addons":1350}'

    it("add_bandwidth: GB as amount, promo_code from the options", function()
      local client, fake = client_with { residential(50), ESTIMATE, residential(50), me(10000),
        ok '{"success":true,"message":"Order paid successfully"}', residential(55), me(8650) }
      local done = assert(client:order(12400):add_bandwidth(5, { promo_code = "SAVE10" }))
      assert.are.same({
        "GET " .. ORDER,
        -- the price of 5 GB of the order's product and cycle, with the promo code given
        "GET " .. BASE .. "/user/api/orders/calculate?product=Premium%20Residential%20Proxy&cycle=lifetime"
          .. "&quantity=5&promo_code=SAVE10",
        "GET " .. ORDER, "GET " .. ME, -- before
        "POST " .. ORDER .. "/add-bandwidth",
        "GET " .. ORDER, "GET " .. ME, -- after: the charge is what left the wallet
      }, sequence(fake))
      local req = fake.requests[5]
      assert.are.equal('{"amount":5,"promo_code":"SAVE10"}', req.body)
      assert.is_true(req.no_resend)
      assert.are.equal("Order paid successfully", done.message)
      assert.are.same({ 1350, 1350 }, { done.estimated.cents, done.charged.cents })
      assert.is_nil(done.overcharged)
      assert.are.equal("add_bandwidth: done for $13.50 (estimated $13.50) (Order paid successfully)", tostring(done))
      local _, req0, err = one(nil, function(c) return c:order(1):add_bandwidth(0) end)
      assert.is_nil(req0)
      assert.are.equal("gb", err.argument)
      _, req0, err = one(nil, function(c) return c:order(1):add_bandwidth(5, { promo = "x" }) end)
      assert.is_nil(req0)
      assert.matches('did you mean "promo_code"', err.message)
    end)

    it("add_bandwidth: charged is what left the wallet, overcharged when above the estimate", function()
      local client, fake = client_with { residential(50), ESTIMATE, residential(50), me(10000),
        ok '{"success":true,"message":"Order paid successfully"}', residential(55), me(8500) }
      local done = assert(client:order(12400):add_bandwidth(5, { promo_code = "SAVE10" }))
      assert.are.equal(7, #fake.requests)
      assert.are.same({ 1350, 1500 }, { done.estimated.cents, done.charged.cents })
      assert.are.same({ 1350, 1500 }, { done.overcharged.quoted.cents, done.overcharged.charged.cents })
      assert.matches("OVERCHARGED: quoted $13.50, charged $15.00", tostring(done), 1, true)
    end)
  end

  do -- renew
    local ORDER = BASE .. "/user/api/orders/12346"
    -- ISP Proxy, monthly, 2 IPs at $4.00; 3 p0f slots at $0.60, down to 1 at the renewal
    local function isp(status, expires, addons_paid, line)
      return ok(('{"success":true,"order":{"order_id":12346,"product_name":"ISP Proxy","cycle_name":"monthly",'
        .. '"quantity":2,"status":"%s","expires_at":"%s","price_paid":800,"addons_price_paid":%d,'
        .. '"addons":[{"addon_key":"p0f_slots","catalog_id":1,"price_per_unit":60,%s}]}}')
        :format(status, expires, addons_paid, line))
    end
    local HOLD = isp("on-hold", "2026-10-15T12:30:00Z", 180, '"qty":3,"pending":{"action":"downgrade","next_qty":1}')
    local ACTIVE = isp("active", "2026-12-25T12:00:00Z", 240, '"qty":1')
    local ESTIMATE = ok('{"original_price":800,"final_price":800,"discount_percent":0,"addons_price":60,'
      .. '"total_with_addons":860}')
    -- the estimate: a new order like it, its add-ons at their next quantity (1, not 3)
    local ESTIMATED = BASE .. "/user/api/orders/calculate?product=ISP%20Proxy&cycle=monthly&quantity=2"
      .. "&addons_json=%5B%7B%22addon_key%22%3A%22p0f_slots%22%2C%22qty%22%3A1%7D%5D"
    local RENEWED = ok '{"success":true,"message":"Order renewed successfully"}'

    it("renew: no body (the document gives it none), never resent blindly", function()
      local client, fake = client_with { HOLD, ESTIMATE, HOLD, RENEWED, ACTIVE }
      local done = assert(client:order(12346):renew())
      assert.are.same({ "GET " .. ORDER, "GET " .. ESTIMATED, "GET " .. ORDER, "POST " .. ORDER .. "/renew",
        "GET " .. ORDER }, sequence(fake))
      local req = fake.requests[4]
      assert.are.equal("", req.body)
      assert.is_nil(table.concat(req.headers, "\n"):lower():find("content-type", 1, true))
      assert.is_true(req.no_resend)
      assert.are.equal("Order renewed successfully", done.message)
      -- charged: price_paid after (800) + what the add-ons' total grew by (60)
      assert.are.same({ 860, 860 }, { done.estimated.cents, done.charged.cents })
      assert.is_nil(done.overcharged)
      assert.are.equal("renew: done for $8.60 (estimated $8.60) (Order renewed successfully)", tostring(done))

      client, fake = client_with { HOLD, ESTIMATE, HOLD,
        { error = { kind = "timeout", message = "t", request_sent = true } } }
      local r, err = client:order(12346):renew()
      assert.is_nil(r)
      assert.are.equal("unknown_outcome", err.kind)
      -- sent once, and nothing after it: no resend, no re-reading without reconcile
      assert.are.same({ "GET " .. ORDER, "GET " .. ESTIMATED, "GET " .. ORDER, "POST " .. ORDER .. "/renew" },
        sequence(fake))
    end)

    it("renew with reconcile: an order that became active was renewed", function()
      local client, fake = client_with { HOLD, ESTIMATE, HOLD,
        { error = { kind = "timeout", message = "t", request_sent = true } }, ACTIVE }
      local done = assert(client:order(12346):renew { reconcile = true })
      assert.is_true(done.reconciled)
      assert.are.same({ "GET " .. ORDER, "GET " .. ESTIMATED, "GET " .. ORDER, "POST " .. ORDER .. "/renew",
        "GET " .. ORDER }, sequence(fake))
      assert.are.same({ 860, 860 }, { done.estimated.cents, done.charged.cents })
    end)
  end
end)

describe("residential calls", function()
  it("take the proxy type as the API spells it, standard as an alias", function()
    local p, req = one(ok('{"success":true,"data":10737418240,"data_remain":5368709120,"data_spent":5368709120,'
      .. '"proxy_password":"pw-secret"}'), function(c) return c:residential("standard"):profile() end)
    assert.are.equal(BASE .. "/user/api/proxies/profile?proxy_type=standart", req.url)
    assert.are.equal(10737418240, p.data_bytes)
    assert.are.equal("standart residential: 5.00 GB left of 10.00 GB (5.00 GB spent)", tostring(p))
    assert.is_nil(tostring(p):find("pw-secret", 1, true))
  end)

  it("sub-users: a page, create, and one sub-user's calls", function()
    local page, req = one(ok '{"success":true,"count":3,"data":[{"user_id":"u1","first_name":"a","data":5}]}',
      function(c) return c:residential("premium"):sub_users { offset = 2, limit = 1 } end)
    assert.are.equal(BASE .. "/user/api/proxies/sub-users?proxy_type=premium&offset=2&limit=1", req.url)
    assert.are.equal("u1", page.sub_users[1].user_id)
    assert.is_nil(page.next_offset) -- 2 + 1 = 3 of 3
    local info
    info, req = one(ok('{"success":true,"data":[{"user_id":"u9","first_name":"team-a","proxy_password":"p",'
      .. '"data":5,"data_spent":0}]}'), function(c) return c:residential("premium"):create_sub_user { name = "team-a",
        data = 5 } end)
    assert.are.equal(BASE .. "/user/api/proxies/sub-user?proxy_type=premium", req.url)
    assert.are.equal('{"data":5,"name":"team-a"}', req.body)
    assert.are.equal("u9", info.user_id)
    assert.are.equal("proxyshard sub-user u9 (premium)", tostring(info:handle()))
    local calls = {
      { function(s) return s:fetch() end, "GET", "/user/api/proxies/sub-user/u9?proxy_type=premium", nil,
        ok '{"success":true,"data":[{"first_name":"team-a","proxy_password":"p","data":5,"data_spent":1}]}' },
      { function(s) return s:rename("team-b") end, "PATCH", "/user/api/proxies/sub-user/u9?proxy_type=premium",
        '{"name":"team-b"}', ACK },
      { function(s) return s:delete() end, "DELETE", "/user/api/proxies/sub-user/u9", nil, ACK },
      { function(s) return s:add_data(2) end, "POST", "/user/api/proxies/sub-user/u9/data/add?proxy_type=premium",
        '{"data":2}', ACK },
      { function(s) return s:subtract_data(1) end, "POST",
        "/user/api/proxies/sub-user/u9/data/subtract?proxy_type=premium", '{"data":1}', ACK },
      { function(s) return s:reset_password() end, "POST",
        "/user/api/proxies/sub-user/u9/password?proxy_type=premium", "", ACK },
    }
    for i, case in ipairs(calls) do
      local v
      v, req = one(case[5], function(c) return case[1](c:residential("premium"):sub_user("u9")) end)
      assert.is_not_nil(v, "call " .. i)
      assert.are.equal(case[2], req.method, "call " .. i)
      assert.are.equal(BASE .. case[3], req.url, "call " .. i)
      assert.are.equal(case[4], req.body, "call " .. i)
      assert.are.equal(case[2] ~= "GET", req.no_resend, "call " .. i)
    end
    local fetched = one(calls[1][5], function(c) return c:residential("premium"):sub_user("u9"):fetch() end)
    assert.are.equal("u9", fetched.user_id)
    assert.are.equal(1, fetched.data_spent)
  end)

  it("all_sub_users: every page", function()
    local client, fake = client_with {
      ok('{"success":true,"count":101,"data":[' .. ('{"user_id":"a"},'):rep(99) .. '{"user_id":"b"}]}'),
      ok '{"success":true,"count":101,"data":[{"user_id":"c"}]}',
    }
    local all = assert(client:residential("premium"):all_sub_users())
    assert.are.equal(101, #all)
    assert.are.equal("c", all[101].user_id)
    assert.are.equal(2, #fake.requests)
  end)

  it("places: countries, regions, cities, ISPs with their codes", function()
    local list, req = one(ok('{"count":1,"results":[{"code":"berlin","name":"Berlin","country":{"code":"DE",'
      .. '"name":"Germany"},"region":{"code":"BE","name":"Berlin"}}]}'),
      function(c) return c:residential("premium"):isps("DE", "BE", "berlin") end)
    assert.are.equal(BASE .. "/user/api/proxies/isps?proxy_type=premium&country_code=DE&region_code=BE"
      .. "&city_code=berlin", req.url)
    assert.are.equal("berlin Berlin (Berlin, Germany)", tostring(list))
    local _
    _, req = one(ok '{"count":0,"results":[]}', function(c) return c:residential("premium"):regions("DE") end)
    assert.are.equal(BASE .. "/user/api/proxies/regions?proxy_type=premium&country_code=DE", req.url)
    local _, _, err = one(nil, function(c) return c:residential("premium"):cities("DE", "B E") end)
    assert.are.equal("region", err.argument)
  end)
end)
