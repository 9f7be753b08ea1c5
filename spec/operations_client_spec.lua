-- Every call made from the operation table, over the fake transport: the
-- exact request it sends (method, URL with query, body, token or none) and
-- what it makes of the answer; and the flows on top (a new order under a
-- cap, reconciled; renew, reconciled; every page of a list).
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

  it("sends the body and returns a receipt with the new order", function()
    local receipt, req = one(BOUGHT, function(c)
      return c:purchase_order { product = "Datacenter Proxy", location = "DE", cycle = "monthly", quantity = 2,
        auto_renewal = true, addons = { p0f_slots = 2 } }
    end)
    assert.are.equal("POST", req.method)
    assert.are.equal(BASE .. "/user/api/orders/purchase", req.url)
    assert.are.equal('{"addons":[{"addon_key":"p0f_slots","qty":2}],"auto_renewal":true,"cycle":"monthly",'
      .. '"location":"DE","product":"Datacenter Proxy","quantity":2}', req.body)
    assert.is_true(req.no_resend)
    assert.are.equal(20001, receipt.order_id)
    assert.are.equal(20001, receipt:order().id)
  end)

  it("quotes first under max_total, and buys nothing above it", function()
    local client, fake = client_with { QUOTE, BOUGHT }
    local receipt = assert(client:purchase_order(PARAMS, { max_total = "6.00" }))
    assert.are.equal(600, receipt.quote.total.cents)
    assert.are.equal("GET", fake.requests[1].method)
    client, fake = client_with { QUOTE }
    local r, err = client:purchase_order(PARAMS, { max_total = 599 })
    assert.is_nil(r)
    assert.are.equal("budget", err.kind)
    assert.are.equal(1, #fake.requests)
  end)

  it("refuses a quote without a total when add-ons make final_price not the whole price", function()
    local client, fake = client_with { ok '{"final_price":600}' }
    local r, err = client:purchase_order({ product = "Datacenter Proxy", addons = { p0f_slots = 1 } },
      { max_total = 10000 })
    assert.is_nil(r)
    assert.are.equal("decode", err.kind)
    assert.are.equal(1, #fake.requests)
  end)

  it("reconciles through the order list: one new order of the product", function()
    local before = ok '{"success":true,"orders":[{"order_id":12345,"product_name":"Datacenter Proxy"}]}'
    local after = ok('{"success":true,"orders":[{"order_id":12345,"product_name":"Datacenter Proxy"},'
      .. '{"order_id":20001,"product_name":"Datacenter Proxy"}]}')
    local lost = { error = { kind = "timeout", message = "Timeout was reached", request_sent = true } }
    local client, fake = client_with { before, lost, before, after }
    local receipt = assert(client:purchase_order(PARAMS, { reconcile = true }))
    assert.is_true(receipt.reconciled)
    assert.are.equal(20001, receipt.order_id)
    assert.are.equal(4, #fake.requests)
    assert.are.same({ 0.25 }, fake.sleeps)
  end)

  it("never resends while the purchase may still land", function()
    local list = ok '{"success":true,"orders":[{"order_id":12345}]}'
    local answers = { list, { error = { kind = "network", message = "reset", request_sent = true } } }
    for _ = 1, 20 do answers[#answers + 1] = list end
    local client, fake = client_with(answers)
    local r, err = client:purchase_order(PARAMS, { reconcile = true, settle = 2 })
    assert.is_nil(r)
    assert.are.equal("unknown_outcome", err.kind)
    assert.are.equal(2, err.unchanged_for)
    local posts = 0
    for _, req in ipairs(fake.requests) do if req.method == "POST" then posts = posts + 1 end end
    assert.are.equal(1, posts)
  end)

  it("refuses bad parameters before anything is sent, the quote included", function()
    local client, fake = client_with {}
    for _, params in ipairs({ { location = "DE" }, { product = "x", quantity = -1 },
        { product = "x", auto_renewal = 1 }, { product = "x", colour = "red" } }) do
      local r, err = client:purchase_order(params, { max_total = 100 })
      assert.is_nil(r)
      assert.are.equal("invalid_argument", err.kind)
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
    assert.are.equal("{}", req.body)
    local _, _, err = one(nil, function(c) return c:order(7):set_auto_renewal("on") end)
    assert.are.equal("enabled", err.argument)
  end)

  it("add_bandwidth: GB as amount, promo_code from the options", function()
    local _, req = one(ACK, function(c) return c:order(12400):add_bandwidth(5, { promo_code = "SAVE10" }) end)
    assert.are.equal(BASE .. "/user/api/orders/12400/add-bandwidth", req.url)
    assert.are.equal('{"amount":5,"promo_code":"SAVE10"}', req.body)
    assert.is_true(req.no_resend)
    local _, _, err = one(nil, function(c) return c:order(1):add_bandwidth(0) end)
    assert.are.equal("gb", err.argument)
    _, _, err = one(nil, function(c) return c:order(1):add_bandwidth(5, { promo = "x" }) end)
    assert.matches('did you mean "promo_code"', err.message)
  end)

  it("renew: a body of {}, never resent blindly", function()
    local done, req = one(ok '{"success":true,"message":"Order renewed successfully"}',
      function(c) return c:order(12346):renew() end)
    assert.are.equal(BASE .. "/user/api/orders/12346/renew", req.url)
    assert.are.equal("{}", req.body)
    assert.are.equal("Order renewed successfully", done.message)
    local _, _, err = one({ error = { kind = "timeout", message = "t", request_sent = true } },
      function(c) return c:order(12346):renew() end)
    assert.are.equal("unknown_outcome", err.kind)
  end)

  it("renew with reconcile: an order that became active was renewed", function()
    local hold = ok '{"success":true,"order":{"order_id":12346,"status":"on-hold","expires_at":"2026-11-01"}}'
    local active = ok '{"success":true,"order":{"order_id":12346,"status":"active","expires_at":"2026-12-01"}}'
    local client, fake = client_with { hold, { error = { kind = "timeout", message = "t", request_sent = true } },
      active }
    local done = assert(client:order(12346):renew { reconcile = true })
    assert.is_true(done.reconciled)
    assert.are.equal(3, #fake.requests)
  end)
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
        "/user/api/proxies/sub-user/u9/password?proxy_type=premium", "{}", ACK },
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
