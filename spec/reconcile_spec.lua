-- Reconciling a purchase whose answer was lost, over the fake transport:
-- the purchase is priced first (its quote), the order is read before and
-- after, and the purchase is resent at most once, only when the order
-- shows that nothing was bought.
local proxyshard = require "proxyshard"
local fake_transport = require "support.fake_transport"

local function order_with(qty, paid)
  return { status = 200, body = ('{"success":true,"order":{"order_id":12345,"addons_price_paid":%d,'
    .. '"addons":[{"addon_key":"p0f_slots","qty":%d,"price_per_unit":30}]}}'):format(paid, qty) }
end
local LOST = { error = { kind = "timeout", message = "Timeout was reached", request_sent = true } }
-- a complete answer from the server: the exchange is over on its side
local SETTLED = { status = 500, body = '{"success":false,"message":"Internal error"}' }
local GATEWAY_502 = { status = 502, headers = { ["content-type"] = "text/html" }, body = "<h1>Bad gateway</h1>" }
local function quote(total)
  return { status = 200, body = ('{"success":true,"addon_key":"p0f_slots","add_qty":2,"add_total":%d}'):format(total) }
end
local BOUGHT = { status = 200, body = '{"success":true,"message":"Add-on purchased","addons_price_paid":150}' }

local function buy(answers, opts)
  local fake = fake_transport.new(answers)
  fake.sleeps = {}
  local client = proxyshard.new { token = "tok_reconcile-secret", transport = fake,
    sleep = function(s) fake.sleeps[#fake.sleeps + 1] = s end }
  local receipt, err = client:order(12345):addon("p0f_slots"):purchase(2, opts or { reconcile = true })
  return receipt, err, fake
end

-- each request in a word: "quote" (the add-on's price), "read" (the
-- order), "POST" (the purchase); anything else in full
local function steps(fake)
  local out = {}
  local order = "https://user-api.proxyshard.com/user/api/orders/12345"
  for i, r in ipairs(fake.requests) do
    local line = r.method .. " " .. r.url
    if line == "GET " .. order .. "/addons/calculate?addon_key=p0f_slots&add_qty=2" then line = "quote"
    elseif line == "GET " .. order then line = "read"
    elseif line == "POST " .. order .. "/addons/purchase" then line = "POST" end
    out[i] = line
  end
  return table.concat(out, " ")
end

describe("purchase with reconcile = true", function()
  it("confirms a purchase whose answer was lost", function()
    local receipt, err, fake = buy { quote(60), order_with(3, 90), LOST, order_with(5, 150) }
    assert.is_nil(err)
    assert.is_true(receipt.reconciled)
    assert.are.equal(150, receipt.addons_price_paid.cents)
    assert.are.equal(60, receipt.charged.cents) -- what the order shows it took: 150 - 90
    assert.are.equal(60, receipt.quote.total.cents)
    assert.matches("confirmed by re%-reading the order %(3 → 5%)", receipt.message)
    assert.are.equal("quote read POST read", steps(fake))
  end)

  -- the first request may still land: "unchanged when I looked" proves nothing
  it("never resends after a timeout, and re-reads for the whole settle window", function()
    local answers = { quote(60), order_with(3, 90), LOST }
    for _ = 1, 20 do answers[#answers + 1] = order_with(3, 90) end
    local receipt, err, fake = buy(answers)
    assert.is_nil(receipt)
    assert.are.equal("unknown_outcome", err.kind)
    assert.are.equal("timeout", err.cause)
    assert.is_true(err.in_flight)
    assert.are.equal(10, err.unchanged_for)
    assert.matches("the order's p0f_slots %(3%) stayed as it was for 10 s of re%-reading, but the request may "
      .. "still be carried out, so it was not sent again", err.message)
    local sum = 0
    for _, s in ipairs(fake.sleeps) do sum = sum + s end
    assert.are.equal(10, sum)
    assert.are.same({ 0.25, 0.5, 1, 2, 2, 2, 2, 0.25 }, fake.sleeps)
    assert.are.equal("quote read POST" .. (" read"):rep(9), steps(fake))
  end)

  it("confirms a purchase that lands while it re-reads", function()
    local receipt, err, fake = buy { quote(60), order_with(3, 90), LOST, order_with(3, 90), order_with(3, 90),
      order_with(5, 150) }
    assert.is_nil(err)
    assert.is_true(receipt.reconciled)
    assert.is_false(receipt.retried)
    assert.are.equal(60, receipt.charged.cents)
    assert.are.equal("quote read POST read read read", steps(fake))
  end)

  it("ends the window with unchanged_for when the last re-read finds no time left", function()
    -- a clock that the sleeps move: the last nap ends exactly at the window's end
    local answers = { quote(60), order_with(3, 90), LOST }
    for _ = 1, 5 do answers[#answers + 1] = order_with(3, 90) end
    local fake = fake_transport.new(answers)
    local t = 0
    local client = proxyshard.new { token = "tok_reconcile-secret", transport = fake,
      clock = function() return t end, sleep = function(s) t = t + s end }
    local receipt, err = client:order(12345):addon("p0f_slots"):purchase(2, { reconcile = true, settle = 1 })
    assert.is_nil(receipt)
    assert.are.equal("unknown_outcome", err.kind)
    assert.are.equal(1, err.unchanged_for)
    assert.matches("stayed as it was for 1 s of re%-reading", err.message)
    assert.is_nil(err.reconcile_error)
    assert.is_nil(err.message:find("re-reading failed", 1, true))
  end)

  it("takes a settle window of the caller's", function()
    local answers = { quote(60), order_with(3, 90), LOST }
    for _ = 1, 5 do answers[#answers + 1] = order_with(3, 90) end
    local _, err, fake = buy(answers, { reconcile = true, settle = 1 })
    assert.are.equal(1, err.unchanged_for)
    assert.are.same({ 0.25, 0.5, 0.25 }, fake.sleeps)
    assert.are.equal("quote read POST read read read read", steps(fake))
  end)

  for _, lost in ipairs({ { "a dropped connection", { error = { kind = "network", message = "reset",
      request_sent = true } } }, { "a gateway's 504 with a JSON message", { status = 504,
      body = '{"success":false,"message":"upstream timed out"}' } }, { "a 502", GATEWAY_502 } }) do
    it("never resends after " .. lost[1], function()
      local answers = { quote(60), order_with(3, 90), lost[2] }
      for _ = 1, 20 do answers[#answers + 1] = order_with(3, 90) end
      local receipt, err, fake = buy(answers)
      assert.is_nil(receipt)
      assert.are.equal("unknown_outcome", err.kind)
      assert.are.equal("quote read POST" .. (" read"):rep(9), steps(fake))
    end)
  end

  it("resends once when a complete answer came back and the order shows nothing was bought", function()
    local receipt, err, fake = buy { quote(60), order_with(3, 90), SETTLED, order_with(3, 90), BOUGHT }
    assert.is_nil(err)
    assert.is_true(receipt.retried)
    assert.are.equal(2, receipt.attempts)
    assert.are.equal(60, receipt.charged.cents) -- 150 after - 90 before
    -- no cap: the resend is not priced again
    assert.are.equal("quote read POST read POST", steps(fake))
    assert.are.equal(fake.requests[3].body, fake.requests[5].body)
    assert.are.same({}, fake.sleeps) -- nothing to wait for: the first exchange was over
  end)

  it("confirms a lost resend too", function()
    local receipt, _, fake = buy { quote(60), order_with(3, 90), SETTLED, order_with(3, 90), LOST,
      order_with(5, 150) }
    assert.is_true(receipt.reconciled)
    assert.is_true(receipt.retried)
    assert.are.equal(60, receipt.charged.cents)
    assert.are.equal("quote read POST read POST read", steps(fake))
  end)

  it("never resends a second time", function()
    local receipt, err, fake = buy { quote(60), order_with(3, 90), SETTLED, order_with(3, 90), SETTLED,
      order_with(3, 90) }
    assert.is_nil(receipt)
    assert.are.equal("server", err.kind)
    assert.is_false(err.bought)
    assert.matches("nothing was bought %(confirmed by re%-reading%)", err.message)
    assert.are.equal("quote read POST read POST read", steps(fake))
  end)

  it("quotes again before a resend, and buys nothing when the price rose above the cap", function()
    local receipt, err, fake = buy({ quote(60), order_with(3, 90), SETTLED, order_with(3, 90), quote(10000) },
      { reconcile = true, max_total = 60 })
    assert.is_nil(receipt)
    assert.are.equal("budget", err.kind)
    assert.is_false(err.bought)
    assert.is_true(err.reconciled)
    assert.are.equal(10000, err.quote.total.cents)
    assert.are.equal("p0f_slots +2 on order 12345 costs $100.00, above max_total $0.60: nothing was bought (the "
      .. "first request was not carried out: confirmed by re-reading)", err.message)
    assert.are.equal("quote read POST read quote", steps(fake))
  end)

  it("resends under the cap with the new quote on the receipt", function()
    local at_50 = { status = 200, body = '{"success":true,"message":"Add-on purchased","addons_price_paid":140}' }
    local receipt, err, fake = buy({ quote(60), order_with(3, 90), SETTLED, order_with(3, 90), quote(50),
      at_50 }, { reconcile = true, max_total = 60 })
    assert.is_nil(err)
    assert.is_true(receipt.retried)
    assert.are.equal(50, receipt.quote.total.cents)
    assert.are.equal(50, receipt.charged.cents) -- 140 - 90
    assert.is_nil(receipt.overcharged)
    assert.are.equal("quote read POST read quote POST", steps(fake))
  end)

  it("flags a charge above the quote on the receipt", function()
    local receipt, _, fake = buy({ quote(60), order_with(3, 90), BOUGHT }, { reconcile = true, max_total = 60 })
    assert.are.equal("quote read POST", steps(fake))
    assert.are.equal(60, receipt.charged.cents) -- 150 - 90
    assert.is_nil(receipt.overcharged)
    local dear = { status = 200, body = '{"success":true,"addons_price_paid":250}' }
    receipt = assert(buy({ quote(60), order_with(3, 90), dear }, { reconcile = true, max_total = 60 }))
    assert.are.equal(60, receipt.overcharged.quoted.cents)
    assert.are.equal(160, receipt.overcharged.charged.cents)
    assert.matches("OVERCHARGED: quoted %$0%.60, charged %$1%.60", tostring(receipt))
  end)

  it("stays unknown when the quantity moved by something else", function()
    local receipt, err, fake = buy { quote(60), order_with(3, 90), LOST, order_with(4, 120) }
    assert.is_nil(receipt)
    assert.are.equal("quote read POST read", steps(fake))
    assert.are.equal("unknown_outcome", err.kind)
    assert.are.equal(4, err.observed_qty)
    assert.are.equal(5, err.expected_qty)
    assert.matches("went from 3 to 4 meanwhile", err.message)
  end)

  it("stays unknown when the order cannot be re-read", function()
    local down = { status = 503, headers = {}, body = "" }
    local receipt, err, fake = buy { quote(60), order_with(3, 90), LOST, down, down, down }
    assert.is_nil(receipt)
    assert.are.equal("quote read POST read read read", steps(fake))
    assert.are.equal("unknown_outcome", err.kind)
    assert.are.equal("server", err.reconcile_error.kind)
    assert.matches("re%-reading failed", err.message)
  end)

  it("returns a known failure of the resend as it is", function()
    local refused = { status = 400, body = '{"success":false,"message":"Insufficient balance"}' }
    local receipt, err, fake = buy { quote(60), order_with(3, 90), SETTLED, order_with(3, 90), refused }
    assert.is_nil(receipt)
    assert.are.equal("validation", err.kind)
    assert.are.equal("Insufficient balance", err.message)
    assert.are.equal("quote read POST read POST", steps(fake))
  end)

  it("counts a line that did not exist before as zero", function()
    local none = { status = 200, body = '{"success":true,"order":{"order_id":12345,"addons":[]}}' }
    local receipt, _, fake = buy { quote(60), none, LOST, order_with(2, 60) }
    assert.is_true(receipt.reconciled)
    assert.are.equal("quote read POST read", steps(fake))
  end)
end)

describe("purchase options", function()
  it("without reconcile returns the unknown outcome and sends nothing more", function()
    local receipt, err, fake = buy({ quote(60), LOST }, {})
    assert.is_nil(receipt)
    assert.are.equal("unknown_outcome", err.kind)
    assert.are.equal("quote POST", steps(fake))
  end)

  it("refuses unknown options, naming the closest one", function()
    local receipt, err, fake = buy({}, { reconcille = true })
    assert.is_nil(receipt)
    assert.are.equal("invalid_argument", err.kind)
    assert.are.equal("reconcille", err.argument)
    assert.matches('did you mean "reconcile"%?', err.message)
    assert.are.equal(0, #fake.requests)
    receipt, err = buy({}, { max_totl = 60 })
    assert.is_nil(receipt)
    assert.matches('did you mean "max_total"%?', err.message)
  end)

  it("refuses settle without reconcile, and a bad settle", function()
    for _, opts in ipairs({ { settle = 5 }, { reconcile = true, settle = 0 }, { reconcile = true, settle = "5" },
        { reconcile = "yes" } }) do
      local receipt, err, fake = buy({}, opts)
      assert.is_nil(receipt)
      assert.are.equal("invalid_argument", err.kind)
      assert.are.equal(0, #fake.requests)
    end
  end)

  it("hands its retry options to the quote and the reads too", function()
    local down = { status = 503, headers = {}, body = "" }
    local receipt, err, fake = buy({ down }, { max_total = 100, max_retries = 0 })
    assert.is_nil(receipt)
    assert.are.equal("server", err.kind)
    assert.are.equal("quote", steps(fake))
    receipt, err, fake = buy({ quote(60), down }, { reconcile = true, max_retries = 0 })
    assert.is_nil(receipt)
    assert.are.equal("server", err.kind)
    assert.are.equal("quote read", steps(fake))
  end)

  it("refuses a quote for another add-on, and buys nothing", function()
    local other = { status = 200, body = '{"success":true,"addon_key":"ip_slots","add_qty":2,"add_total":60}' }
    local receipt, err, fake = buy({ other }, { max_total = 100 })
    assert.is_nil(receipt)
    assert.are.equal("decode", err.kind)
    assert.matches('the quote is for add%-on "ip_slots", not "p0f_slots"', err.message)
    assert.are.equal("quote", steps(fake))
  end)

  describe("max_total", function()
    it("takes integer cents, money, and dollars as text with a point", function()
      for _, cap in ipairs({ 60, require("proxyshard.money").cents(60), "0.60", "$1.00" }) do
        local receipt = assert(buy({ quote(60), BOUGHT }, { max_total = cap }))
        assert.are.equal(60, receipt.quote.total.cents)
      end
      local _, err = buy({ quote(60) }, { max_total = "0.59" })
      assert.are.equal("budget", err.kind)
    end)

    local refused = { 0.6, 1.5, -1, "60", "1.00.0", "abc", true, {} }
    if math.type then refused[#refused + 1] = 1.0 end -- LuaJIT cannot tell 1.0 from 1
    for _, cap in ipairs(refused) do
      it("refuses " .. tostring(cap) .. " (" .. type(cap) .. ") before any request", function()
        local receipt, err, fake = buy({}, { max_total = cap })
        assert.is_nil(receipt)
        assert.are.equal("invalid_argument", err.kind)
        assert.are.equal("max_total", err.argument)
        if type(cap) == "number" and cap > 0 then
          assert.matches('write cents as an integer %(100 for %$1%.00%), or dollars as text: "1%.00"', err.message)
        end
        assert.are.equal(0, #fake.requests)
      end)
    end
  end)
end)
