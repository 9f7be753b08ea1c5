-- Reconciling a purchase whose answer was lost, over the fake transport:
-- the order is read before and after, and the purchase is resent at most
-- once, only when the order shows that nothing was bought.
local proxyshard = require "proxyshard"
local fake_transport = require "support.fake_transport"

local function order_with(qty, paid)
  return { status = 200, body = ('{"success":true,"order":{"order_id":12345,"addons_price_paid":%d,'
    .. '"addons":[{"addon_key":"p0f_slots","qty":%d,"price_per_unit":30}]}}'):format(paid, qty) }
end
local LOST = { error = { kind = "timeout", message = "Timeout was reached", request_sent = true } }
local BOUGHT = { status = 200, body = '{"success":true,"message":"Add-on purchased","addons_price_paid":150}' }

local function buy(answers, opts)
  local fake = fake_transport.new(answers)
  local client = proxyshard.new { token = "tok_reconcile-secret", transport = fake, sleep = function() end }
  local receipt, err = client:order(12345):addon("p0f_slots"):purchase(2, opts or { reconcile = true })
  return receipt, err, fake
end

local function methods(fake)
  local out = {}
  for i, r in ipairs(fake.requests) do out[i] = r.method end
  return table.concat(out, " ")
end

describe("purchase with reconcile = true", function()
  it("confirms a purchase whose answer was lost", function()
    local receipt, err, fake = buy { order_with(3, 90), LOST, order_with(5, 150) }
    assert.is_nil(err)
    assert.is_true(receipt.reconciled)
    assert.are.equal(150, receipt.addons_price_paid.cents)
    assert.matches("confirmed by re%-reading the order %(3 → 5%)", receipt.message)
    assert.are.equal("GET POST GET", methods(fake))
  end)

  it("resends once when the order shows nothing was bought", function()
    local receipt, err, fake = buy { order_with(3, 90), LOST, order_with(3, 90), BOUGHT }
    assert.is_nil(err)
    assert.is_true(receipt.retried)
    assert.are.equal(2, receipt.attempts)
    assert.are.equal("GET POST GET POST", methods(fake))
    assert.are.equal(fake.requests[2].body, fake.requests[4].body)
  end)

  it("confirms a lost resend too", function()
    local receipt, _, fake = buy { order_with(3, 90), LOST, order_with(3, 90), LOST, order_with(5, 150) }
    assert.is_true(receipt.reconciled)
    assert.are.equal("GET POST GET POST GET", methods(fake))
  end)

  it("never resends a second time", function()
    local receipt, err, fake = buy { order_with(3, 90), LOST, order_with(3, 90), LOST, order_with(3, 90) }
    assert.is_nil(receipt)
    assert.are.equal("timeout", err.kind)
    assert.is_false(err.bought)
    assert.matches("nothing was bought %(confirmed by re%-reading the order%)", err.message)
    assert.are.equal("GET POST GET POST GET", methods(fake))
  end)

  it("stays unknown when the quantity moved by something else", function()
    local receipt, err = buy { order_with(3, 90), LOST, order_with(4, 120) }
    assert.is_nil(receipt)
    assert.are.equal("unknown_outcome", err.kind)
    assert.are.equal(4, err.observed_qty)
    assert.are.equal(5, err.expected_qty)
    assert.matches("went from 3 to 4 meanwhile", err.message)
  end)

  it("stays unknown when the order cannot be re-read", function()
    local down = { status = 503, headers = {}, body = "" }
    local receipt, err = buy { order_with(3, 90), LOST, down, down, down }
    assert.is_nil(receipt)
    assert.are.equal("unknown_outcome", err.kind)
    assert.are.equal("server", err.reconcile_error.kind)
    assert.matches("re%-reading the order failed", err.message)
  end)

  it("returns a known failure of the resend as it is", function()
    local refused = { status = 400, body = '{"success":false,"message":"Insufficient balance"}' }
    local receipt, err = buy { order_with(3, 90), LOST, order_with(3, 90), refused }
    assert.is_nil(receipt)
    assert.are.equal("validation", err.kind)
    assert.are.equal("Insufficient balance", err.message)
  end)

  it("counts a line that did not exist before as zero", function()
    local none = { status = 200, body = '{"success":true,"order":{"order_id":12345,"addons":[]}}' }
    local receipt = buy { none, LOST, order_with(2, 60) }
    assert.is_true(receipt.reconciled)
  end)
end)

describe("purchase without reconcile", function()
  it("returns the unknown outcome and sends nothing more", function()
    local receipt, err, fake = buy({ LOST }, {})
    assert.is_nil(receipt)
    assert.are.equal("unknown_outcome", err.kind)
    assert.are.equal("POST", methods(fake))
  end)

  it("refuses unknown options", function()
    local receipt, err, fake = buy({}, { reconcille = true })
    assert.is_nil(receipt)
    assert.are.equal("invalid_argument", err.kind)
    assert.are.equal(0, #fake.requests)
  end)
end)
