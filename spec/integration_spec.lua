-- Every operation end to end: the client, over libcurl and real HTTP, against
-- the sandbox running as a separate process. State and ledger are read back
-- from the sandbox's control endpoints.
local proxyshard = require "proxyshard"
local sandbox_process = require "support.sandbox_process"
local fixture = require "proxyshard.sandbox.world.fixture"

local TOKEN = "sandbox-token"

describe("against the sandbox over HTTP", function()
  local sb, client

  setup(function()
    sb = sandbox_process.start()
    client = proxyshard.new { token = TOKEN, base_url = sb.url, timeout = 5 }
  end)

  teardown(function()
    if client then client:close() end
    if sb then sb:stop() end
  end)

  before_each(function() sb:reset() end)

  local function order() return assert(client:order(12345)) end
  local function slots() return assert(order():addon("p0f_slots")) end
  local function wallet() return assert(client:me()).wallet_balance.cents end

  it("reads the account and the order", function()
    local me = assert(client:me())
    assert.are.equal(10000, me.wallet_balance.cents)
    assert.are.equal("$100.00", tostring(me.wallet_balance))
    local info = assert(order():fetch())
    assert.are.equal(12345, info.order_id)
    assert.are.equal("Datacenter Proxy", info.product_name)
    assert.are.equal("active", info.status)
    assert.are.equal(3, info.p0f_slots_available)
    assert.are.equal(1, info.p0f_slots_used)
    assert.are.equal(3, info.p0f_slots_next)
    assert.are.equal(1500, info.price_paid.cents)
    assert.are.equal(90, info.addons_price_paid.cents)
    local line = info:addon_line("p0f_slots")
    assert.are.equal(3, line.qty)
    assert.are.equal(30, line.price_per_unit.cents)
    assert.is_nil(line.pending)
    assert.are.equal("order 12345 (Datacenter Proxy, monthly, active, 5 IPs, expires 2026-12-01T09:00:00Z, "
      .. "auto-renewal on): p0f_slots: 3 × $0.30; "
      .. "p0f slots 1/3 used, 3 next period", tostring(info))
  end)

  it("lists the order's proxies with their signatures", function()
    local proxies, tag = assert(order():proxies())
    assert.are.equal(5, #proxies)
    assert.are.equal("203.0.113.10", proxies[1].ip)
    assert.are.equal("linux", proxies[1].signature)
    assert.is_nil(proxies[2].signature)
    assert.are.equal("sandbox", tag)
    assert.is_nil(tostring(proxies[1]):find(proxies[1].password, 1, true))
  end)

  it("sends exactly the documented headers and bodies", function()
    assert(slots():purchase(1))
    local seen = sb:requests()
    assert.are.equal(2, #seen)
    -- priced first: the quote, a GET without a body
    local q = seen[1]
    assert.are.same({ "GET", "/user/api/orders/12345/addons/calculate", "addon_key=p0f_slots&add_qty=1" },
      { q.method, q.path, q.query })
    assert.is_true(q.body == nil or q.body == "")
    assert.is_nil(q.headers["content-type"])
    assert.are.equal("application/json", q.headers.accept)
    assert.are.equal("[redacted]", q.headers.authorization)
    local r = seen[2]
    assert.are.equal("POST", r.method)
    assert.are.equal("/user/api/orders/12345/addons/purchase", r.path)
    assert.are.equal('{"add_qty":1,"addon_key":"p0f_slots"}', r.body)
    assert.are.equal("application/json", r.headers["content-type"])
    assert.are.equal("application/json", r.headers.accept)
    assert.are.equal(tostring(#r.body), r.headers["content-length"])
    assert.matches("^proxyshard%-lua/%d+%.%d+%.%d+ %(Lua 5%.%d; libcurl/", r.headers["user-agent"])
    assert.are.equal("[redacted]", r.headers.authorization)
  end)

  it("quotes without spending", function()
    local quote = assert(slots():quote(2))
    assert.are.equal(3, quote.current_qty)
    assert.are.equal(2, quote.add_qty)
    assert.are.equal(5, quote.new_qty)
    assert.are.equal(30, quote.price_per_unit.cents)
    assert.are.equal(60, quote.total.cents)
    assert.are.equal("p0f_slots +2 on order 12345: 2 × $0.30 = $0.60 (3 → 5)", tostring(quote))
    assert.are.equal(0, #sb:ledger())
    assert.are.equal(10000, wallet())
  end)

  it("buys under a cap, debiting the wallet once", function()
    local receipt = assert(slots():purchase(2, { max_total = 60 }))
    assert.are.equal(150, receipt.addons_price_paid.cents)
    assert.are.equal(5, receipt:line().qty)
    assert.are.equal(60, receipt.quote.total.cents)
    local seen = sb:requests()
    assert.are.equal(2, #seen)
    assert.are.same({ "GET", "/user/api/orders/12345/addons/calculate" }, { seen[1].method, seen[1].path })
    assert.are.same({ "POST", "/user/api/orders/12345/addons/purchase" }, { seen[2].method, seen[2].path })
    local ledger = sb:ledger()
    assert.are.equal(1, #ledger)
    assert.are.equal(60, ledger[1].amount_cents)
    assert.are.equal(2, ledger[1].qty)
    assert.are.equal(60, receipt.charged.cents)
    assert.are.equal(9940, wallet())
    local info = assert(order():fetch())
    assert.are.equal(5, info.p0f_slots_available)
    assert.are.equal(150, info.addons_price_paid.cents)
  end)

  it("buys nothing above the cap, and sends no purchase", function()
    local receipt, err = slots():purchase(2, { max_total = proxyshard.money.cents(59) })
    assert.is_nil(receipt)
    assert.are.equal("budget", err.kind)
    assert.are.equal(60, err.quote.total.cents)
    local seen = sb:requests()
    assert.are.equal(1, #seen)
    assert.are.same({ "GET", "/user/api/orders/12345/addons/calculate" }, { seen[1].method, seen[1].path })
    assert.are.equal(0, #sb:ledger())
    assert.are.equal(10000, wallet())
  end)

  -- what the sandbox saw, as "METHOD path" lines
  local function sequence()
    local out = {}
    for i, r in ipairs(sb:requests()) do out[i] = r.method .. " " .. r.path end
    return out
  end

  it("renews at an estimate, and reads back the one charge the ledger shows", function()
    local done = assert(client:order(12346):renew())
    local O = "/user/api/orders/12346"
    assert.are.same({ "GET " .. O, "GET /user/api/orders/calculate", "GET " .. O, "POST " .. O .. "/renew",
      "GET " .. O }, sequence())
    local ledger = sb:ledger()
    assert.are.equal(1, #ledger)
    assert.are.equal("renewal", ledger[1].kind)
    -- the base and the add-ons, in one charge
    assert.are.equal(ledger[1].amount_cents, done.charged.cents)
    assert.are.equal(10000 - ledger[1].amount_cents, wallet())
    -- the estimate is the sandbox's price of a new order like the fixture's
    -- (no pending change: each add-on at the quantity it has)
    local o = fixture.orders[2]
    assert(o.order_id == 12346)
    local like = { product = o.product_name, cycle = o.cycle_name, quantity = o.quantity, addons = {} }
    for _, line in ipairs(o.addons) do like.addons[line.addon_key] = line.qty end
    local quote = assert(client:quote_order(like))
    assert.are.equal(quote.total.cents, done.estimated.cents)
    if ledger[1].amount_cents > quote.total.cents then
      assert.are.same({ quote.total.cents, ledger[1].amount_cents },
        { done.overcharged.quoted.cents, done.overcharged.charged.cents })
    else
      assert.is_nil(done.overcharged)
    end
    assert.are.equal("active", assert(client:order(12346):fetch()).status)
  end)

  it("adds bandwidth at an estimate, and reads the charge off the wallet", function()
    local done = assert(client:order(12400):add_bandwidth(5, { promo_code = "SAVE10" }))
    local O = "/user/api/orders/12400"
    assert.are.same({ "GET " .. O, "GET /user/api/orders/calculate", "GET " .. O, "GET /user/api/me",
      "POST " .. O .. "/add-bandwidth", "GET " .. O, "GET /user/api/me" }, sequence())
    assert.are.equal("product=Premium%20Residential%20Proxy&cycle=lifetime&quantity=5&promo_code=SAVE10",
      sb:requests()[2].query)
    local ledger = sb:ledger()
    assert.are.same({ 1, "bandwidth", 5 }, { #ledger, ledger[1].kind, ledger[1].gb })
    assert.are.equal(ledger[1].amount_cents, done.charged.cents)
    assert.are.equal(10000 - ledger[1].amount_cents, wallet())
    -- the estimate: 5 GB of the order's product and cycle, at the promo's price
    local quote = assert(client:quote_order { product = "Premium Residential Proxy", cycle = "lifetime", quantity = 5,
      promo_code = "SAVE10" })
    assert.are.equal(quote.total.cents, done.estimated.cents)
    assert.are.equal(ledger[1].amount_cents, quote.total.cents) -- the sandbox charges what it quotes
    assert.is_nil(done.overcharged)
  end)

  it("signs IPs, taking a slot only the first time", function()
    assert.are.equal(2, assert(order():set_signatures {
      { ip = "203.0.113.11", signature = "win11" }, { ip = "203.0.113.12", signature = "macos" } }))
    local info = assert(order():fetch())
    assert.are.equal(3, info.p0f_slots_used)
    -- re-signing signed IPs takes no slot, even with all slots used
    assert.are.equal(2, assert(order():set_signatures {
      { ip = "203.0.113.10", signature = "ios" }, { ip = "203.0.113.11", signature = "win10" } }))
    assert.are.equal(3, assert(order():fetch()).p0f_slots_used)
    local proxies = assert(order():proxies())
    assert.are.equal("ios", proxies[1].signature)
    assert.are.equal("win10", proxies[2].signature)
    assert.are.equal("macos", proxies[3].signature)
  end)

  it("gets a validation error when slots run out, and nothing changes", function()
    local n, err = order():set_signatures {
      { ip = "203.0.113.11", signature = "win11" }, { ip = "203.0.113.12", signature = "win11" },
      { ip = "203.0.113.13", signature = "win11" } }
    assert.is_nil(n)
    assert.are.equal("validation", err.kind)
    assert.are.equal(400, err.status)
    assert.are.equal("POST", err.method)
    assert.are.equal("/user/api/orders/12345/signature/set", err.path)
    assert.matches("Not enough p0f slots", err.message)
    assert.matches("^proxyshard validation error: Not enough p0f slots.*%(HTTP 400, POST "
      .. "/user/api/orders/12345/signature/set%)$", tostring(err))
    assert.are.equal(1, assert(order():fetch()).p0f_slots_used)
  end)

  it("schedules a downgrade and cancels it", function()
    local change = assert(slots():schedule_downgrade(1))
    assert.are.equal(1, change:line().pending.next_qty)
    local info = assert(order():fetch())
    assert.are.equal(1, info.p0f_slots_next)
    assert.are.equal("downgrade", info:addon_line("p0f_slots").pending.action)
    assert(slots():cancel_downgrade())
    info = assert(order():fetch())
    assert.are.equal(3, info.p0f_slots_next)
    assert.is_nil(info:addon_line("p0f_slots").pending)
    -- nothing left to cancel
    local ok, err = slots():cancel_downgrade()
    assert.is_nil(ok)
    assert.are.equal("validation", err.kind)
    -- a downgrade must go below the current quantity
    ok, err = slots():schedule_downgrade(3)
    assert.is_nil(ok)
    assert.are.equal("validation", err.kind)
  end)

  it("refuses a purchase on an inactive order", function()
    local receipt, err = assert(client:order(12346)):addon("p0f_slots"):purchase(1)
    assert.is_nil(receipt)
    assert.are.equal("validation", err.kind)
    assert.matches("not active", err.message)
    assert.are.equal(0, #sb:ledger())
  end)

  it("refuses a purchase the wallet cannot pay", function()
    local receipt, err = slots():purchase(1000)
    assert.is_nil(receipt)
    assert.are.equal("validation", err.kind)
    assert.matches("Insufficient balance", err.message)
    assert.are.equal(0, #sb:ledger())
  end)

  it("maps a wrong token to auth, without the token in the error", function()
    local bad = proxyshard.new { token = "wrong-token-123", base_url = sb.url }
    local info, err = assert(bad:order(12345)):fetch()
    bad:close()
    assert.is_nil(info)
    assert.are.equal("auth", err.kind)
    assert.are.equal(401, err.status)
    assert.is_nil(tostring(err):find("wrong-token-123", 1, true))
  end)

  it("maps an unknown order to not_found", function()
    local info, err = assert(client:order(999)):fetch()
    assert.is_nil(info)
    assert.are.equal("not_found", err.kind)
    assert.are.equal(404, err.status)
  end)

  it("maps a GET's 5xx with an HTML body to server", function()
    sb:fault { method = "GET", path = "/user/api/orders/12345", status = 502,
      content_type = "text/html", body = "<html><body><h1>502 Bad Gateway</h1></body></html>" }
    local info, err = order():fetch { max_retries = 0 }
    assert.is_nil(info)
    assert.are.equal("server", err.kind)
    assert.are.equal(502, err.status)
    assert.are.equal("HTTP 502 with a text/html body", err.message)
    assert.matches("<h1>502 Bad Gateway</h1>", err.body)
  end)

  it("makes a purchase's HTML 5xx an unknown outcome, sent once", function()
    sb:fault { method = "POST", path = "/user/api/orders/12345/addons/purchase", status = 502,
      content_type = "text/html", body = "<html><body><h1>502 Bad Gateway</h1></body></html>" }
    local receipt, err = slots():purchase(1)
    assert.is_nil(receipt)
    assert.are.equal("unknown_outcome", err.kind)
    assert.are.equal("server", err.cause)
    assert.are.equal(502, err.status)
    -- the quote, then the purchase once
    local seen = sb:requests()
    assert.are.equal(2, #seen)
    assert.are.same({ "GET", "/user/api/orders/12345/addons/calculate" }, { seen[1].method, seen[1].path })
    assert.are.same({ "POST", "/user/api/orders/12345/addons/purchase" }, { seen[2].method, seen[2].path })
    assert.are.equal(0, #sb:ledger())
  end)

  it("maps a 200 that is not JSON to decode", function()
    sb:fault { method = "GET", path = "/user/api/orders/12345/addons/calculate", status = 200,
      content_type = "text/plain", body = "OK" }
    local quote, err = slots():quote(1)
    assert.is_nil(quote)
    assert.are.equal("decode", err.kind)
    assert.are.equal(200, err.status)
    assert.are.equal("answer has content type text/plain, not JSON", err.message)
  end)

  it("maps a float amount in an answer to decode", function()
    sb:fault { method = "GET", path = "/user/api/orders/12345/addons/calculate", status = 200,
      body = '{"success":true,"add_qty":1,"price_per_unit":30,"add_total":30.5}' }
    local quote, err = slots():quote(1)
    assert.is_nil(quote)
    assert.are.equal("decode", err.kind)
    assert.matches("add_total", err.message)
  end)

  it("times out, saying the request was sent", function()
    local core = require "proxyshard.core"
    local impatient = proxyshard.new { token = TOKEN, base_url = sb.url, timeout = 0.5 }
    -- the answer would come 30 s late: no other timeout than the 0.5 s
    -- ends the call before it
    sb:fault { method = "GET", path = "/user/api/orders/12345", delay_ms = 30000 }
    local t0 = core.monotonic()
    local info, err = assert(impatient:order(12345)):fetch { max_retries = 0 }
    local took = core.monotonic() - t0
    impatient:close()
    assert.is_nil(info)
    assert.are.equal("timeout", err.kind)
    assert.is_true(err.request_sent)
    assert.are.equal(1, err.attempts)
    assert.is_true(took >= 0.45, "took " .. took .. " s")
  end)

  -- timeout bounds the whole call: before, each of the 3 attempts had 2 s
  it("ends a call with retries within its timeout, attempts and waits included", function()
    local core = require "proxyshard.core"
    local slow = proxyshard.new { token = TOKEN, base_url = sb.url, timeout = 2, base_delay = 0.2 }
    sb:fault { method = "GET", path = "/user/api/orders/12345", delay_ms = 3000, times = 0 }
    local t0 = core.monotonic()
    local info, err = slow:order(12345):fetch()
    local took = core.monotonic() - t0
    slow:close()
    local sent = 0
    for _, r in ipairs(sb:requests()) do
      if r.method == "GET" and r.path == "/user/api/orders/12345" then sent = sent + 1 end
    end
    sb:reset()
    assert.is_nil(info)
    assert.are.equal("timeout", err.kind)
    assert.is_true(took >= 1.9, "took " .. took .. " s")
    -- the first attempt had the whole 2 s and no time was left for another
    -- (each attempt with 2 s of its own, there would be 3 of them, 6 s and
    -- more): what the sandbox saw, not a clock
    assert.are.equal(1, err.attempts)
    assert.are.equal(1, sent)
    assert.matches("no time left for another try within timeout = 2 s", err.message, 1, true)
    -- the same with a short first failure: the retry gets what is left
    sb:fault { method = "GET", path = "/user/api/orders/12345", status = 503 }
    slow = proxyshard.new { token = TOKEN, base_url = sb.url, timeout = 2, base_delay = 0.2 }
    info = assert(slow:order(12345):fetch())
    slow:close()
    assert.are.equal(12345, info.order_id)
  end)

  it("says a host name did not resolve, and how to use the sandbox instead", function()
    local lost = proxyshard.new { token = TOKEN, base_url = "https://no-such-host.invalid", timeout = 5 }
    local me, err = lost:me { max_retries = 0 }
    lost:close()
    assert.is_nil(me)
    if err.kind == "timeout" then
      -- a resolver that does not answer at all: the name never failed to resolve
      return pending("the DNS resolver did not answer within 5 s: " .. err.message)
    end
    assert.are.equal("network", err.kind)
    assert.is_false(err.request_sent)
    assert.matches("[Rr]esolve host", err.message)
    assert.matches("bin/proxyshard%-sandbox", err.message)
    assert.matches('base_url = "http://127%.0%.0%.1:8089"', err.message)
  end)

  it("reports a refused connection as network, not sent", function()
    -- a port the sandbox just freed: nothing listens there
    local probe = sandbox_process.start()
    local url = probe.url
    probe:stop()
    local gone = proxyshard.new { token = TOKEN, base_url = url, connect_timeout = 2 }
    local info, err = assert(gone:order(12345)):fetch()
    gone:close()
    assert.is_nil(info)
    assert.are.equal("network", err.kind)
    assert.is_false(err.request_sent)
    assert.are.equal(3, err.attempts) -- never sent, so retried, even though nobody answers
    assert.matches("onnect", err.message)
  end)

  it("sends nothing for bad input", function()
    local o = order()
    local s = slots()
    local results = {
      { client:order("12/../../x"):fetch() }, { client:order(0):proxies() }, { o:addon("p0f-slots"):quote(2) },
      { s:quote(0) }, { s:purchase(1.5) }, { s:purchase(1, { max_total = -5 }) },
      { s:schedule_downgrade(0) }, { o:set_signatures {} },
      { o:set_signatures { { ip = "203.0.113.300", signature = "win11" } } },
      { o:set_signatures { { ip = "203.0.113.11", signature = "windows" } } },
    }
    for i, r in ipairs(results) do
      assert.is_nil(r[1], "call " .. i)
      assert.are.equal("invalid_argument", r[2].kind, "call " .. i)
    end
    assert.are.equal(0, #sb:requests())
  end)
end)
