-- The client over a test double: what goes on the wire, how answers and
-- failures become values and errors, and that bad input sends nothing.
local proxyshard = require "proxyshard"
local is_exact_integer = require "support.exact"
local fake_transport = require "support.fake_transport"

local TOKEN = "tok_S3cr3t-value"

-- A client over the fake transport; its sleeps are recorded, not slept.
local function client_with(answers, opts)
  local fake = fake_transport.new(answers)
  opts = opts or {}
  opts.token = opts.token or TOKEN
  opts.transport = fake
  fake.sleeps = {}
  opts.sleep = opts.sleep or function(s) fake.sleeps[#fake.sleeps + 1] = s end
  return proxyshard.new(opts), fake
end

local QUOTE = '{"success":true,"addon_key":"p0f_slots","catalog_id":1,"price_per_unit":30,'
  .. '"current_qty":3,"add_qty":2,"new_qty":5,"add_total":60}'

describe("proxyshard.new", function()
  it("raises an invalid_argument error for programmer mistakes", function()
    local cases = {
      { nil, "options" }, { {}, "token" }, { { token = "" }, "token" }, { { token = "a\nb" }, "token" },
      { { token = "a\0b" }, "token" }, { { token = 5 }, "token" },
      { { token = "test-token", base_url = "ftp://x" }, "base_url" },
      { { token = "test-token", base_url = "https://user:pw@x" }, "base_url" },
      { { token = "test-token", base_url = "http://api.example.com" }, "base_url" },
      { { token = "test-token", timeout = 0 }, "timeout" }, { { token = "test-token", timeout = "30" }, "timeout" },
      { { token = "test-token", connect_timeout = -1 }, "connect_timeout" },
      { { token = "test-token", transport = {} }, "transport" },
    }
    for _, case in ipairs(cases) do
      local ok, err = pcall(proxyshard.new, case[1])
      assert.is_false(ok)
      assert.are.equal("invalid_argument", err.kind)
      assert.are.equal(case[2], err.argument)
      assert.is_nil(tostring(err):find(TOKEN, 1, true))
    end
  end)

  it("allows plain http to loopback, and elsewhere only when asked", function()
    assert.is_table(proxyshard.new { token = "test-token", base_url = "http://127.0.0.1:8089",
      transport = fake_transport.new() })
    assert.is_table(proxyshard.new { token = "test-token", base_url = "http://localhost:1",
      transport = fake_transport.new() })
    assert.is_table(proxyshard.new { token = "test-token", base_url = "http://api.example.com", allow_insecure = true,
      transport = fake_transport.new() })
  end)

  it("never shows the token", function()
    local client = client_with()
    local text = tostring(client)
    assert.matches("https://user%-api%.proxyshard%.com", text)
    assert.is_nil(text:find(TOKEN, 1, true))
    for k, v in pairs(client) do
      assert.is_nil(tostring(k):find(TOKEN, 1, true))
      if type(v) == "string" then assert.is_nil(v:find(TOKEN, 1, true)) end
    end
  end)
end)

describe("requests on the wire", function()
  it("quote: GET with auth, accept, user agent and an encoded query", function()
    local client, fake = client_with()
    fake:json(QUOTE)
    local quote = assert(client:order(12345):addon("p0f_slots"):quote(2))
    local req = fake.requests[1]
    assert.are.equal("GET", req.method)
    assert.are.equal("https://user-api.proxyshard.com/user/api/orders/12345/addons/calculate"
      .. "?addon_key=p0f_slots&add_qty=2", req.url)
    assert.are.equal("Bearer " .. TOKEN, fake:header(1, "authorization"))
    assert.are.equal("application/json", fake:header(1, "accept"))
    local version = proxyshard._VERSION:gsub("%.", "%%.")
    assert.matches("^proxyshard%-lua/" .. version .. " %(Lua 5%.%d", fake:header(1, "user-agent"))
    assert.is_nil(req.body)
    assert.is_false(req.no_resend)
    -- what is left of the whole call's 30 s, and the connect timeout within it
    assert.is_true(req.timeout <= 30 and req.timeout > 29, tostring(req.timeout))
    assert.are.equal(10, req.connect_timeout)
    -- the answer, exact
    assert.are.equal(3, quote.current_qty)
    assert.are.equal(2, quote.add_qty)
    assert.are.equal(5, quote.new_qty)
    assert.is_true(is_exact_integer(quote.new_qty))
    assert.are.equal(30, quote.price_per_unit.cents)
    assert.are.equal(60, quote.total.cents)
    assert.are.equal("p0f_slots +2 on order 12345: 2 × $0.30 = $0.60 (3 → 5)", tostring(quote))
  end)

  it("keeps a base_url path prefix and custom timeouts", function()
    local client, fake = client_with(nil, { base_url = "http://127.0.0.1:9/prefix/", timeout = 5, connect_timeout = 7 })
    fake:json('{"success":true,"order":{"order_id":7}}')
    assert(client:order("7"):fetch())
    assert.are.equal("http://127.0.0.1:9/prefix/user/api/orders/7", fake.requests[1].url)
    local req = fake.requests[1]
    assert.is_true(req.timeout <= 5 and req.timeout > 4, tostring(req.timeout))
    assert.are.equal(req.timeout, req.connect_timeout) -- never above what is left of the total
  end)

  it("purchase: POST with an exact JSON body, Content-Type, no_resend (Content-Length is the transport's)", function()
    local client, fake = client_with()
    fake:quotes() -- the price every spend asks first: answered aside, so requests[1] is the POST
    fake:json('{"success":true,"message":"Add-on purchased","addons_price_paid":150,'
      .. '"addons":[{"addon_key":"p0f_slots","catalog_id":1,"qty":5,"price_per_unit":30,"pending":null}]}')
    local receipt = assert(client:order(12345):addon("p0f_slots"):purchase(2))
    assert.are.equal(1, #fake.standing_seen)
    assert.are.equal(1, #fake.requests)
    local req = fake.requests[1]
    assert.are.equal("POST", req.method)
    assert.are.equal("https://user-api.proxyshard.com/user/api/orders/12345/addons/purchase", req.url)
    assert.are.equal('{"add_qty":2,"addon_key":"p0f_slots"}', req.body)
    assert.are.equal("application/json", fake:header(1, "content-type"))
    assert.is_nil(fake:header(1, "content-length")) -- one, from the transport: never a second
    assert.is_true(req.no_resend)
    assert.are.equal(150, receipt.addons_price_paid.cents)
    assert.are.equal("Add-on purchased", receipt.message)
    assert.are.equal(5, receipt:line().qty)
    assert.is_nil(receipt:line().pending)
    assert.are.equal("p0f_slots: 5 × $0.30", tostring(receipt:line()))
    assert.are.equal(60, receipt.charged.cents) -- the quote's total: nothing else showed the charge
  end)

  it("schedule and cancel a downgrade", function()
    local client, fake = client_with()
    fake:json('{"success":true,"message":"Downgrade scheduled","addons":[{"addon_key":"p0f_slots","qty":5,'
      .. '"price_per_unit":30,"pending":{"action":"downgrade","next_qty":1}}]}')
    fake:json('{"success":true,"message":"Pending downgrade cleared","addons":[{"addon_key":"p0f_slots","qty":5,'
      .. '"price_per_unit":30,"pending":null}]}')
    local slots = client:order(12345):addon("p0f_slots")
    local change = assert(slots:schedule_downgrade(1))
    assert.are.equal('{"action":"downgrade","addon_key":"p0f_slots","next_qty":1}', fake.requests[1].body)
    assert.matches("/addons/schedule$", fake.requests[1].url)
    assert.are.equal(1, change:line().pending.next_qty)
    assert.are.equal(1, change:line():next_qty())
    assert.are.equal("p0f_slots: 5 × $0.30 (downgrade to 1 at renewal)", tostring(change:line()))
    local cancel = assert(slots:cancel_downgrade())
    assert.are.equal('{"addon_key":"p0f_slots"}', fake.requests[2].body)
    assert.matches("/addons/schedule/cancel$", fake.requests[2].url)
    assert.are.equal(5, cancel:line():next_qty())
    assert.matches("pending downgrade cancelled", tostring(cancel))
  end)

  it("set_signatures: body items in order, returns the count", function()
    local client, fake = client_with()
    fake:json('{"success":true,"message":"ok","updated":2}')
    local n = assert(client:order(12345):set_signatures {
      { ip = "203.0.113.7", signature = "win11" }, { ip = "2001:db8::1", signature = "ios" } })
    assert.are.equal(2, n)
    assert.is_true(is_exact_integer(n))
    assert.are.equal('{"items":[{"ip":"203.0.113.7","signature":"win11"},{"ip":"2001:db8::1","signature":"ios"}]}',
      fake.requests[1].body)
    assert.is_true(fake.requests[1].no_resend)
  end)

  it("fetch: order details with money, slots and add-on lines", function()
    local client, fake = client_with()
    fake:json('{"success":true,"order":{"order_id":12345,"product_name":"Datacenter Proxy","cycle_name":"monthly",'
      .. '"quantity":5,"price_paid":1500,"addons_price_paid":90,"addons":[{"addon_key":"p0f_slots","catalog_id":1,'
      .. '"qty":3,"price_per_unit":30,"pending":null}],"p0f_slots_available":3,"p0f_slots_used":1,'
      .. '"p0f_slots_next":3,"status":"active","created_at":"2026-11-01T00:00:00Z","expires_at":null,'
      .. '"promo_code":null,"auto_renewal":true,"tag":null}}')
    local info = assert(client:order(12345):fetch())
    assert.are.equal(12345, info.order_id)
    assert.are.equal(1500, info.price_paid.cents)
    assert.are.equal(90, info.addons_price_paid.cents)
    assert.are.equal(3, info:addon_line("p0f_slots").qty)
    assert.are.equal(2, info:p0f_slots_free())
    assert.is_nil(info.expires_at)
    assert.is_true(info.auto_renewal)
    assert.are.equal("order 12345 (Datacenter Proxy, monthly, active, 5 IPs, auto-renewal on): p0f_slots: 3 × $0.30; "
      .. "p0f slots 1/3 used, 3 next period", tostring(info))
  end)
end)

describe("purchase with max_total", function()
  it("quotes first and buys when the total is within the cap", function()
    local client, fake = client_with()
    fake:json(QUOTE)
    fake:json('{"success":true,"message":"Add-on purchased","addons_price_paid":150}')
    local receipt = assert(client:order(12345):addon("p0f_slots"):purchase(2, { max_total = 60 }))
    assert.are.equal(2, #fake.requests)
    assert.are.equal("GET", fake.requests[1].method)
    assert.are.equal("https://user-api.proxyshard.com/user/api/orders/12345/addons/calculate"
      .. "?addon_key=p0f_slots&add_qty=2", fake.requests[1].url)
    assert.are.equal("POST", fake.requests[2].method)
    assert.are.equal(60, receipt.quote.total.cents)
    assert.are.equal(60, receipt.charged.cents)
    assert.matches("for %$0%.60", tostring(receipt))
  end)

  it("returns a budget error and sends no purchase above the cap", function()
    local client, fake = client_with()
    fake:json(QUOTE)
    local money = require "proxyshard.money"
    local receipt, err = client:order(12345):addon("p0f_slots"):purchase(2, { max_total = money.cents(59) })
    assert.is_nil(receipt)
    assert.are.equal("budget", err.kind)
    assert.are.equal(60, err.quote.total.cents)
    assert.are.equal(59, err.max_total.cents)
    assert.matches("costs %$0%.60, above max_total %$0%.59: nothing was bought", err.message)
    assert.are.equal(1, #fake.requests)
  end)

  it("refuses a quote without a total", function()
    local client, fake = client_with()
    fake:json('{"success":true,"add_qty":2,"price_per_unit":30}')
    local receipt, err = client:order(12345):addon("p0f_slots"):purchase(2, { max_total = 100 })
    assert.is_nil(receipt)
    assert.are.equal("budget", err.kind)
    assert.matches("has no price (the quote gave no add_total)", err.message, 1, true)
    assert.is_false(err.bought)
    assert.are.equal(1, #fake.requests)
  end)
end)

describe("bad input sends nothing", function()
  local client, fake = client_with()
  local order = client:order(12345)
  local slots = order:addon("p0f_slots")
  local calls = {
    -- a handle made with a bad argument carries the error to its first call
    { "order id 0", function() return client:order(0):fetch() end, "order_id" },
    { "order id path", function() return client:order("12/../../x"):addon("p0f_slots"):quote(2) end, "order_id" },
    { "order id 2^53", function() return client:order(2^53):set_tag("x") end, "order_id" },
    { "addon key", function() return order:addon("P0F"):purchase(2, { max_total = 60 }) end, "addon_key" },
    { "proxy type", function() return client:residential("basic"):sub_user("u1"):fetch() end, "proxy_type" },
    { "sub-user id", function() return client:residential("premium"):sub_user("a/b"):delete() end, "user_id" },
    { "quote 0", function() return slots:quote(0) end, "add_qty" },
    { "quote fraction", function() return slots:quote(1.5) end, "add_qty" },
    { "quote huge", function() return slots:quote(1e9) end, "add_qty" },
    { "purchase negative", function() return slots:purchase(-2) end, "add_qty" },
    { "purchase bad cap", function() return slots:purchase(2, { max_total = 1.5 }) end, "max_total" },
    { "purchase negative cap", function() return slots:purchase(2, { max_total = -1 }) end, "max_total" },
    { "purchase string cap", function() return slots:purchase(2, { max_total = "$1" }) end, "max_total" },
    { "purchase bad opts", function() return slots:purchase(2, 60) end, "opts" },
    { "downgrade 0", function() return slots:schedule_downgrade(0) end, "next_qty" },
    { "signatures empty", function() return order:set_signatures {} end, "items" },
    { "signatures bad ip", function() return order:set_signatures { { ip = "1.2.3.999", signature = "ios" } } end,
      "items[1].ip" },
    { "signatures bad os", function() return order:set_signatures { { ip = "1.2.3.4", signature = "win7" } } end,
      "items[1].signature" },
  }
  for _, case in ipairs(calls) do
    it(case[1] .. " → invalid_argument(" .. case[3] .. ")", function()
      local value, err = case[2]()
      assert.is_nil(value)
      assert.are.equal("invalid_argument", err.kind)
      assert.are.equal(case[3], err.argument)
      assert.are.equal(0, #fake.requests)
    end)
  end
end)

describe("handles", function()
  it("are made once per parent and value while something holds them, and never kept alive by that", function()
    local client = client_with({ { status = 200, body = QUOTE }, { status = 200, body = QUOTE } })
    local order = client:order(12345)
    assert.are.equal(order, client:order(12345))
    assert.are.equal(order:addon("p0f_slots"), client:order(12345):addon("p0f_slots"))
    assert.are_not.equal(order, client:order(12346))
    assert.are_not.equal(order:addon("p0f_slots"), client:order(12346):addon("p0f_slots"))
    -- a shared handle carries nothing of a call: two quotes through it are each their own
    local a = assert(client:order(12345):addon("p0f_slots"):quote(2))
    local b = assert(client:order(12345):addon("p0f_slots"):quote(2))
    assert.are_not.equal(a, b)
    assert.are.equal(60, a.total.cents)
    -- another client has handles of its own
    local other = client_with()
    assert.are_not.equal(order, other:order(12345))
    assert.are.equal(other, other:order(12345).client)
    -- the cache holds no handle: once nothing else does, it is collected
    local held = setmetatable({}, { __mode = "k" })
    held[client:order(777)] = true
    held[client:order(778):addon("p0f_slots")] = true
    order = nil -- luacheck: ignore (dropped on purpose)
    collectgarbage()
    collectgarbage()
    assert.is_nil(next(held))
  end)

  it("with a bad argument are never kept: each carries its own error", function()
    local client = client_with()
    local bad, err = client:order("x")
    local bad2, err2 = client:order("x")
    assert.are_not.equal(bad, bad2)
    assert.are.equal("invalid_argument", err2.kind)
    assert.are.equal(err2, bad2.error)
    assert.are.equal(err, bad.error)
    local good = client:order(1)
    local bad_addon, e = good:addon("NOT A KEY")
    assert.are.equal("invalid_argument", e.kind)
    assert.are_not.equal(bad_addon, (good:addon("NOT A KEY")))
    assert.is_nil(good:addon("p0f_slots").error)
  end)
end)

describe("handles made with a bad argument", function()
  it("also give the error as a second value, and print", function()
    local client = client_with()
    local order, err = client:order("x")
    assert.are.equal("invalid_argument", err.kind)
    assert.are.equal(err, order.error)
    assert.are.equal("proxyshard order nil", tostring(order))
    local _, err2 = order:addon("p0f_slots")
    assert.are.equal(err, err2)
  end)
end)

describe("errors", function()
  -- the answer to a purchase's POST, after its price (a standing quote):
  -- priced once, then that one POST, not retried
  local function failing(answer)
    local client, fake = client_with { answer }
    fake:quotes()
    local v, err = client:order(12345):addon("p0f_slots"):purchase(2)
    assert.is_nil(v)
    assert.are.equal(1, #fake.standing_seen)
    assert.are.equal(1, #fake.requests)
    assert.are.equal("POST", fake.requests[1].method)
    return err
  end

  -- the same answer to a GET (quote), not retried
  local function failing_get(answer)
    local client, fake = client_with { answer }
    local v, err = client:order(12345):addon("p0f_slots"):quote(2, { max_retries = 0 })
    assert.is_nil(v)
    assert.are.equal(1, #fake.requests)
    return err
  end

  local statuses = { [400] = "validation", [401] = "auth", [403] = "forbidden", [404] = "not_found",
    [422] = "validation", [429] = "rate_limited", [405] = "api", [409] = "api", [302] = "api" }
  for status, kind in pairs(statuses) do
    it("maps HTTP " .. status .. " to " .. kind, function()
      local err = failing { status = status, headers = { ["content-type"] = "application/json" },
        body = '{"success":false,"message":"Not enough balance"}' }
      assert.are.equal(kind, err.kind)
      assert.are.equal(status, err.status)
      assert.are.equal("POST", err.method)
      assert.are.equal("/user/api/orders/12345/addons/purchase", err.path)
      assert.are.equal("Not enough balance", err.message)
      assert.are.equal("proxyshard " .. kind .. " error: Not enough balance (HTTP " .. status
        .. ", POST /user/api/orders/12345/addons/purchase)", tostring(err))
    end)
  end

  for _, status in ipairs({ 500, 502, 503, 504 }) do
    it("maps HTTP " .. status .. " to server for a GET", function()
      local err = failing_get { status = status, headers = { ["content-type"] = "application/json" },
        body = '{"success":false,"message":"Backend failed"}' }
      assert.are.equal("server", err.kind)
      assert.are.equal(status, err.status)
      assert.are.equal("Backend failed", err.message)
    end)

    -- a gateway writes JSON too, after the API behind it charged
    it("makes a purchase answered HTTP " .. status .. " with a JSON message an unknown outcome", function()
      local err = failing { status = status, headers = { ["content-type"] = "application/json" },
        body = '{"success":false,"message":"upstream timed out"}' }
      assert.are.equal("unknown_outcome", err.kind)
      assert.are.equal("server", err.cause)
      assert.are.equal(status, err.status)
      assert.are.equal(status ~= 500, err.in_flight) -- a gateway status: the API may still be at it
      -- what is known first, the server's words after
      assert.are.equal("the outcome is unknown: the request may have been carried out, so check before trying "
        .. "again (upstream timed out)", err.message)
    end)
  end

  it("describes a 5xx with an HTML body without dumping it into the message", function()
    local client, fake = client_with { { status = 502, headers = { ["content-type"] = "text/html; charset=utf-8" },
      body = "<html><body>Bad gateway</body></html>" } }
    local v, err = client:order(12345):addon("p0f_slots"):quote(2, { max_retries = 0 })
    assert.is_nil(v)
    assert.are.equal(1, #fake.requests)
    assert.are.equal("server", err.kind)
    assert.are.equal("HTTP 502 with a text/html body", err.message)
    assert.are.equal("<html><body>Bad gateway</body></html>", err.body)
    assert.are.equal(1, err.attempts)
  end)

  it("makes a purchase answered by a gateway's HTML 5xx an unknown outcome", function()
    local err = failing { status = 502, headers = { ["content-type"] = "text/html" },
      body = "<html>Bad gateway</html>" }
    assert.are.equal("unknown_outcome", err.kind)
    assert.are.equal("server", err.cause)
    assert.are.equal(502, err.status)
    assert.matches("^the outcome is unknown: the request may have been carried out, so check before trying again "
      .. "%(HTTP 502 with a text/html body%)$", err.message)
    assert.are.same({ method = "POST", path = "/user/api/orders/12345/addons/purchase",
      body = '{"add_qty":2,"addon_key":"p0f_slots"}' }, err.attempted)
  end)

  it("turns a 200 that is not JSON into a decode error", function()
    local err = failing_get { status = 200, headers = { ["content-type"] = "text/plain" }, body = "OK" }
    assert.are.equal("decode", err.kind)
    assert.are.equal(200, err.status)
    assert.are.equal("answer has content type text/plain, not JSON", err.message)
    err = failing_get { status = 200, headers = { ["content-type"] = "application/json; charset=utf-8" }, body = "OK" }
    assert.are.equal("decode", err.kind)
    assert.matches("^answer is not a JSON object", err.message)
    err = failing_get { status = 200, headers = { ["content-type"] = "" }, body = "{}" }
    assert.are.equal("answer has content type , not JSON", err.message)
  end)

  it("refuses JSON served as HTML, and takes +json types", function()
    local body = '{"success":true,"add_qty":2,"add_total":60}'
    local err = failing_get { status = 200, headers = { ["content-type"] = "text/html" }, body = body }
    assert.are.equal("decode", err.kind)
    local client = client_with { { status = 200, headers = { ["content-type"] = "Application/Vnd.Api+JSON" },
      body = body } }
    assert.are.equal(60, assert(client:order(1):addon("p0f_slots"):quote(2)).total.cents)
  end)

  it("turns success:false in a 200 into an api error, for a GET or a purchase", function()
    for _, fail in ipairs({ failing, failing_get }) do
      local err = fail { status = 200, body = '{"success":false,"message":"Order is not active"}' }
      assert.are.equal("api", err.kind)
      assert.are.equal("Order is not active", err.message)
    end
  end)

  it("takes a 2xx answer without success as a success: the document makes it optional", function()
    local client = client_with { { status = 200, body = '{"add_qty":2,"add_total":60}' } }
    assert.are.equal(60, assert(client:order(12345):addon("p0f_slots"):quote(2)).total.cents)
    local fake
    client, fake = client_with { { status = 200, body = '{"message":"done"}' } }
    fake:quotes()
    local receipt = assert(client:order(12345):addon("p0f_slots"):purchase(2))
    assert.are.equal("done", receipt.message)
    assert.are.equal(1, #fake.requests)
    assert.are.equal("POST", fake.requests[1].method)
    client = client_with { { status = 200, body = '{"success":true}' } }
    assert.are.equal(1, assert(client:order(12345):set_signatures { { ip = "1.2.3.4", signature = "linux" } }))
  end)

  it("still requires what a cap needs: a quote without its total is refused, and nothing bought", function()
    local client, fake = client_with { { status = 200, body = '{"success":true,"add_qty":2}' } }
    local r, err = client:order(12345):addon("p0f_slots"):purchase(2, { max_total = 100 })
    assert.is_nil(r)
    assert.are.equal("budget", err.kind)
    assert.matches("has no price", err.message)
    assert.are.equal(1, #fake.requests)
  end)

  it("refuses a float amount", function()
    local err = failing_get { status = 200, body = '{"success":true,"add_qty":2,"add_total":60.5}' }
    assert.are.equal("decode", err.kind)
    assert.matches("field add_total: not integer cents", err.message)
  end)

  it("makes a purchase's unreadable 2xx an unknown outcome (it may have been bought)", function()
    for _, answer in ipairs({
      { status = 200, headers = { ["content-type"] = "text/html" }, body = "<html>portal</html>" },
      { status = 200, body = "OK" },
      { status = 200, body = '{"success":true,"addons_price_paid":1.5}' },
    }) do
      local err = failing(answer)
      assert.are.equal("unknown_outcome", err.kind)
      assert.are.equal("decode", err.cause)
      assert.are.equal(200, err.status)
      assert.matches("the request may have been carried out", err.message)
    end
  end)

  for _, tk in ipairs({ "timeout", "network" }) do
    it("makes a purchase's transport " .. tk .. " after sending an unknown outcome, never resent", function()
      local err = failing { error = { kind = tk, message = "boom", request_sent = true } }
      assert.are.equal("unknown_outcome", err.kind)
      assert.are.equal(tk, err.cause)
      assert.is_true(err.request_sent)
      assert.are.equal(1, err.attempts)
      assert.is_nil(err.status)
    end)
  end

  it("says how to use the sandbox when the host name did not resolve", function()
    local client = client_with { { error = { kind = "network", message = "Could not resolve host: x",
      request_sent = false, resolve_failed = true } } }
    local _, err = client:me { max_retries = 0 }
    assert.are.equal("network", err.kind)
    assert.matches('^Could not resolve host: x %(no network%? develop against the local sandbox: run '
      .. 'bin/proxyshard%-sandbox and give base_url = "http://127%.0%.0%.1:8089", token = "sandbox%-token"%)',
      err.message)
    client = client_with { { error = { kind = "network", message = "Connection refused", request_sent = false } } }
    _, err = client:me { max_retries = 0 }
    assert.is_nil(err.message:find("sandbox", 1, true))
  end)

  it("passes a TLS failure through, not retried", function()
    local err = failing { error = { kind = "tls", message = "certificate verify failed", request_sent = false } }
    assert.are.equal("tls", err.kind)
    assert.is_false(err.request_sent)
    assert.are.equal(1, err.attempts)
  end)

  it("maps an oversized answer to decode for a GET and to an unknown outcome for a purchase", function()
    local client, fake = client_with { { error = { kind = "too_large", message = "answer above 1048576 bytes",
      request_sent = true } } }
    local v, err = client:order(12345):fetch { max_retries = 0 }
    assert.is_nil(v)
    assert.are.equal(1, #fake.requests)
    assert.are.equal("decode", err.kind)
    err = failing { error = { kind = "too_large", message = "answer above 1048576 bytes", request_sent = true } }
    assert.are.equal("unknown_outcome", err.kind)
    assert.are.equal("decode", err.cause)
  end)

  it("never puts the token in an error, even when the server echoes it", function()
    local err = failing { status = 401, body = '{"success":false,"message":"bad token ' .. TOKEN .. '"}' }
    assert.are.equal("auth", err.kind)
    assert.are.equal("bad token [redacted]", err.message)
    assert.is_nil(tostring(err):find(TOKEN, 1, true))
    err = failing { status = 500, headers = { ["content-type"] = "text/plain" }, body = "Bearer " .. TOKEN }
    assert.is_nil(err.body:find(TOKEN, 1, true))
    err = failing { error = { kind = "network", message = "x " .. TOKEN .. " y " .. TOKEN, request_sent = true } }
    assert.matches("%(x %[redacted%] y %[redacted%]%)$", err.message)
  end)
end)

describe("every spend is priced", function()
  local BASE = "https://user-api.proxyshard.com"
  local CALCULATE = "GET /user/api/orders/12345/addons/calculate?addon_key=p0f_slots&add_qty=2"
  local PURCHASE = "POST /user/api/orders/12345/addons/purchase"
  local BOUGHT = '{"success":true,"message":"Add-on purchased","addons_price_paid":150}'

  -- every request the fake saw, as "METHOD path?query"
  local function sent(fake)
    local out = {}
    for i, r in ipairs(fake.requests) do
      assert.are.equal(BASE, r.url:sub(1, #BASE))
      out[i] = r.method .. " " .. r.url:sub(#BASE + 1)
    end
    return out
  end

  -- order 12346, on hold: ISP Proxy, monthly, 2 IPs; 4 p0f slots going down
  -- to 2 at the renewal
  local function on_hold(status, expires_at, addons_paid)
    return '{"success":true,"order":{"order_id":12346,"product_name":"ISP Proxy","cycle_name":"monthly",'
      .. '"quantity":2,"price_paid":800,"addons_price_paid":' .. addons_paid .. ',"addons":[{"addon_key":'
      .. '"p0f_slots","qty":4,"price_per_unit":60,"pending":{"action":"downgrade","next_qty":2}}],"status":"'
      .. status .. '","expires_at":"' .. expires_at .. '","promo_code":null}}'
  end
  local HELD = on_hold("on-hold", "2026-10-15T12:00:00Z", 60)
  -- a new order like it: the base, and the add-on at the quantity it will have
  local RENEWAL_QUOTE = "GET /user/api/orders/calculate?product=ISP%20Proxy&cycle=monthly&quantity=2"
    .. "&addons_json=%5B%7B%22addon_key%22%3A%22p0f_slots%22%2C%22qty%22%3A2%7D%5D"
  local READ_12346 = "GET /user/api/orders/12346"

  it("addon:purchase without max_total quotes before it buys; the receipt is charged the quote's total", function()
    local client, fake = client_with()
    fake:json(QUOTE)
    fake:json(BOUGHT)
    local receipt = assert(client:order(12345):addon("p0f_slots"):purchase(2))
    assert.are.same({ CALCULATE, PURCHASE }, sent(fake))
    assert.are.equal(60, receipt.quote.total.cents)
    assert.are.equal(60, receipt.charged.cents)
    assert.is_nil(receipt.estimated)
    assert.is_nil(receipt.overcharged)
    assert.are.equal("bought p0f_slots +2 on order 12345 for $0.60; add-ons paid on this order: $1.50 "
      .. "(Add-on purchased)", tostring(receipt))
  end)

  it("returns budget, with nothing POSTed, when the quote's add_total is above max_total", function()
    local client, fake = client_with()
    fake:json('{"success":true,"addon_key":"p0f_slots","price_per_unit":4500,"current_qty":3,"add_qty":2,'
      .. '"new_qty":5,"add_total":9000}')
    local receipt, err = client:order(12345):addon("p0f_slots"):purchase(2, { max_total = "50.00" })
    assert.is_nil(receipt)
    assert.are.equal("budget", err.kind)
    assert.are.equal("p0f_slots +2 on order 12345 costs $90.00, above max_total $50.00: nothing was bought",
      err.message)
    assert.are.equal(9000, err.quote.total.cents)
    assert.are.equal(5000, err.max_total.cents)
    assert.is_false(err.bought)
    assert.are.same({ CALCULATE }, sent(fake))
  end)

  it("shows opts.confirm the price before anything is POSTed; false is declined, nothing bought", function()
    local client, fake = client_with()
    fake:json(QUOTE)
    local seen = {}
    local receipt, err = client:order(12345):addon("p0f_slots"):purchase(2, { confirm = function(price)
      seen[#seen + 1] = { total = price.total.cents, text = price.text, sent = sent(fake) }
      return false
    end })
    assert.is_nil(receipt)
    assert.are.same({ { total = 60, text = "p0f_slots +2 on order 12345: 2 × $0.30 = $0.60 (3 → 5)",
      sent = { CALCULATE } } }, seen)
    assert.are.equal("declined", err.kind)
    assert.is_false(err.bought)
    assert.are.equal("p0f_slots +2 on order 12345 was not confirmed: nothing was bought", err.message)
    assert.are.same({ CALCULATE }, sent(fake))

    -- true buys: still after the price, before the POST
    client, fake = client_with()
    fake:json(QUOTE)
    fake:json(BOUGHT)
    seen = {}
    receipt = assert(client:order(12345):addon("p0f_slots"):purchase(2, { confirm = function(price)
      seen[#seen + 1] = { total = price.total.cents, sent = sent(fake) }
      return true
    end }))
    assert.are.same({ { total = 60, sent = { CALCULATE } } }, seen)
    assert.are.same({ CALCULATE, PURCHASE }, sent(fake))
    assert.are.equal(60, receipt.charged.cents)
  end)

  it("refuses confirm that is not a function, sending nothing", function()
    local client, fake = client_with()
    fake:quotes()
    local receipt, err = client:order(12345):addon("p0f_slots"):purchase(2, { confirm = "yes" })
    assert.is_nil(receipt)
    assert.are.equal("invalid_argument", err.kind)
    assert.are.equal("confirm", err.argument)
    assert.are.same({}, fake.requests)
    assert.are.same({}, fake.standing_seen)
  end)

  it("order:renew under a max_total below the estimate: budget, no POST", function()
    local client, fake = client_with()
    fake:json(HELD)
    fake:json('{"original_price":800,"final_price":800,"discount_percent":0,"addons_price":120,'
      .. '"total_with_addons":920}')
    local ack, err = client:order(12346):renew { max_total = 919 }
    assert.is_nil(ack)
    assert.are.equal("budget", err.kind)
    assert.are.equal("renewal of order 12346 (ISP Proxy, monthly, ×2) costs about $9.20, above max_total $9.19: "
      .. "nothing was bought", err.message)
    assert.are.equal(920, err.quote.total.cents)
    assert.are.equal(919, err.max_total.cents)
    assert.is_true(err.estimated)
    assert.is_false(err.bought)
    assert.are.same({ READ_12346, RENEWAL_QUOTE }, sent(fake))
  end)

  it("order:add_bandwidth under a max_total below the estimate: budget, no POST", function()
    local client, fake = client_with()
    fake:json('{"success":true,"order":{"order_id":12400,"product_name":"Residential Premium",'
      .. '"cycle_name":"monthly","quantity":10,"status":"active"}}')
    fake:json('{"original_price":2500,"final_price":2500,"discount_percent":0,"total_with_addons":2500}')
    local ack, err = client:order(12400):add_bandwidth(5, { max_total = "20.00" })
    assert.is_nil(ack)
    assert.are.equal("budget", err.kind)
    assert.are.equal("5 GB for order 12400 costs about $25.00, above max_total $20.00: nothing was bought",
      err.message)
    assert.are.equal(2500, err.quote.total.cents)
    assert.are.equal(2000, err.max_total.cents)
    assert.is_false(err.bought)
    assert.are.same({ "GET /user/api/orders/12400",
      "GET /user/api/orders/calculate?product=Residential%20Premium&cycle=monthly&quantity=5" }, sent(fake))
  end)

  describe("a renewal whose estimate is unavailable (calculate answers 400)", function()
    local NO_QUOTE = { status = 400, headers = { ["content-type"] = "application/json" },
      body = '{"success":false,"message":"Product is not on sale"}' }

    it("with max_total: budget, no POST", function()
      local client, fake = client_with { { status = 200, body = HELD }, NO_QUOTE }
      local ack, err = client:order(12346):renew { max_total = 10000 }
      assert.is_nil(ack)
      assert.are.equal("budget", err.kind)
      assert.are.equal("renewal of order 12346 (ISP Proxy, monthly, ×2) has no price (Product is not on sale), "
        .. "so max_total $100.00 cannot be checked: nothing was bought", err.message)
      assert.is_false(err.bought)
      assert.is_nil(err.quote)
      assert.are.same({ READ_12346, RENEWAL_QUOTE }, sent(fake))
    end)

    it("without max_total: renews; no estimated total, the charge the order shows after", function()
      local client, fake = client_with { { status = 200, body = HELD }, NO_QUOTE, { status = 200, body = HELD },
        { status = 200, body = '{"success":true,"message":"Order renewed successfully"}' },
        { status = 200, body = on_hold("active", "2026-12-25T12:00:00Z", 180) } }
      local ack = assert(client:order(12346):renew())
      assert.are.same({ READ_12346, RENEWAL_QUOTE, READ_12346, "POST /user/api/orders/12346/renew", READ_12346 },
        sent(fake))
      assert.is_nil(ack.estimated)
      assert.is_nil(ack.quote)
      assert.is_nil(ack.overcharged)
      assert.are.equal(920, ack.charged.cents) -- price_paid 800, and the add-ons' total grew 60 → 180
      assert.are.equal("renew: done for $9.20 (Order renewed successfully)", tostring(ack))
    end)
  end)
end)
