-- The retry policy: backoff, Retry-After, and which failures are retried,
-- over the fake transport with an injected sleep.
local proxyshard = require "proxyshard"
local retry = require "proxyshard.engine.retry"
local fake_transport = require "support.fake_transport"

local TOKEN = "tok_retry-spec-secret"
local ORDER = '{"success":true,"order":{"order_id":12345}}'

local function client_with(answers, opts)
  local fake = fake_transport.new(answers)
  opts = opts or {}
  opts.token, opts.transport = TOKEN, fake
  fake.sleeps = {}
  opts.sleep = function(s) fake.sleeps[#fake.sleeps + 1] = s end
  opts.random = opts.random or function() return 0.5 end
  opts.now = opts.now or function() return 784111777 end -- Sun, 06 Nov 1994 08:49:37 GMT
  return proxyshard.new(opts), fake
end

local function status(code, headers, body)
  return { status = code, headers = headers or { ["content-type"] = "application/json" },
    body = body or '{"success":false,"message":"busy"}' }
end
local function ok(body) return { status = 200, body = body or ORDER } end
local function broken(sent) return { error = { kind = "network", message = "reset", request_sent = sent } } end

describe("retry.backoff", function()
  local p = retry.policy()
  it("doubles from 0.5 s, jittered to 50-100 %, never below the base, capped at 5 s", function()
    local lo, hi = function() return 0 end, function() return 0.999999 end
    assert.are.equal(0.5, retry.backoff(p, 1, lo))
    assert.is_true(math.abs(retry.backoff(p, 1, hi) - 0.5) < 1e-5)
    assert.are.equal(0.5, retry.backoff(p, 2, lo))
    assert.is_true(math.abs(retry.backoff(p, 2, hi) - 1) < 1e-5)
    assert.are.equal(1, retry.backoff(p, 3, lo))
    assert.are.equal(2.5, retry.backoff(p, 10, lo))
    assert.is_true(math.abs(retry.backoff(p, 10, hi) - 5) < 1e-5)
  end)

  it("has Stripe's defaults", function()
    assert.are.same({ max_retries = 2, base_delay = 0.5, max_delay = 5, max_retry_after = 30 }, p)
  end)
end)

describe("Retry-After", function()
  local now = 784111777
  it("reads delay-seconds", function()
    assert.are.equal(2, retry.parse_retry_after("2", now))
    assert.are.equal(120, retry.parse_retry_after(" 120 ", now))
  end)

  it("reads the three HTTP-date forms", function()
    assert.are.equal(784111777, retry.http_date("Sun, 06 Nov 1994 08:49:37 GMT"))
    assert.are.equal(784111777, retry.http_date("Sunday, 06-Nov-94 08:49:37 GMT"))
    assert.are.equal(784111777, retry.http_date("Sun Nov  6 08:49:37 1994"))
    assert.are.equal(951782400, retry.http_date("Tue, 29 Feb 2000 00:00:00 GMT"))
    assert.are.equal(10, retry.parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now))
    assert.are.equal(0, retry.parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now))
  end)

  it("ignores what it cannot read", function()
    for _, v in ipairs({ "", "soon", "-1", "1.5", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT" }) do
      assert.is_nil(retry.parse_retry_after(v, now), v)
    end
  end)
end)

describe("the client retries", function()
  it("a GET after 5xx answers, with backoff, and counts attempts", function()
    local client, fake = client_with { status(503), status(500), ok() }
    local info = assert(client:order(12345):fetch())
    assert.are.equal(12345, info.order_id)
    assert.are.equal(3, #fake.requests)
    assert.are.same({ 0.5, 0.75 }, fake.sleeps)
  end)

  it("gives up after max_retries and says how many attempts were made", function()
    local client, fake = client_with { status(503), status(503), status(503) }
    local info, err = client:order(12345):fetch()
    assert.is_nil(info)
    assert.are.equal("server", err.kind)
    assert.are.equal(3, err.attempts)
    assert.are.equal(3, #fake.requests)
  end)

  it("honours Retry-After in seconds and as an HTTP-date", function()
    local client, fake = client_with { status(429, { ["retry-after"] = "3" }),
      status(503, { ["retry-after"] = "Sun, 06 Nov 1994 08:49:44 GMT" }), ok() }
    assert(client:order(12345):fetch())
    assert.are.same({ 3, 7 }, fake.sleeps)
  end)

  it("does not wait for a Retry-After beyond its cap", function()
    local client, fake = client_with({ status(429, { ["retry-after"] = "60" }) }, { max_retry_after = 10 })
    local info, err = client:order(12345):fetch()
    assert.is_nil(info)
    assert.are.equal("rate_limited", err.kind)
    assert.are.equal(60, err.retry_after)
    assert.are.equal(1, err.attempts)
    assert.are.same({}, fake.sleeps)
  end)

  it("a GET after a network failure, whether or not it was sent", function()
    local client, fake = client_with { broken(true), broken(false), ok() }
    assert(client:order(12345):fetch())
    assert.are.equal(3, #fake.requests)
  end)

  it("per call: max_retries = 0 makes one attempt", function()
    local client, fake = client_with { status(503) }
    local info, err = client:order(12345):fetch { max_retries = 0 }
    assert.is_nil(info)
    assert.are.equal(1, err.attempts)
    assert.are.equal(1, #fake.requests)
  end)

  it("per client: max_retries = 1", function()
    local client, fake = client_with({ status(503), status(503) }, { max_retries = 1 })
    local _, err = client:order(12345):fetch()
    assert.are.equal(2, err.attempts)
    assert.are.equal(2, #fake.requests)
  end)

  -- the purchase's price (asked first) is a standing answer: the queue is the POST's
  it("a purchase only when it provably never left", function()
    local client, fake = client_with { broken(false), ok('{"success":true,"addons_price_paid":150}') }
    fake:quotes()
    local receipt = assert(client:order(12345):addon("p0f_slots"):purchase(2))
    assert.are.equal(150, receipt.addons_price_paid.cents)
    assert.are.equal(1, #fake.standing_seen) -- priced once, not again for the retry
    assert.are.equal(2, #fake.requests)
    assert.are.same({ "POST", "POST" }, { fake.requests[1].method, fake.requests[2].method })
    assert.are.equal(fake.requests[1].body, fake.requests[2].body)
  end)

  for _, answer in ipairs({ { "a 503 with JSON", status(503) }, { "a 429", status(429, { ["retry-after"] = "1" }) },
    { "a reset after sending", broken(true) } }) do
    it("never a purchase after " .. answer[1], function()
      local client, fake = client_with { answer[2] }
      fake:quotes()
      local receipt, err = client:order(12345):addon("p0f_slots"):purchase(2)
      assert.is_nil(receipt)
      assert.are.equal(1, #fake.standing_seen)
      assert.are.equal(1, #fake.requests)
      assert.are.equal("POST", fake.requests[1].method)
      assert.are.equal(1, err.attempts)
      assert.are.same({}, fake.sleeps)
    end)
  end

  it("refuses bad retry options", function()
    assert.has_error(function() client_with(nil, { max_retries = -1 }) end)
    assert.has_error(function() client_with(nil, { max_retries = 1.5 }) end)
    assert.has_error(function() proxyshard.new { token = TOKEN, transport = fake_transport.new(), sleep = 5 } end)
    local client, fake = client_with()
    local info, err = client:order(12345):fetch { max_retries = "3" }
    assert.is_nil(info)
    assert.are.equal("invalid_argument", err.kind)
    assert.are.equal("max_retries", err.argument)
    assert.are.equal(0, #fake.requests)
  end)
end)

describe("hooks", function()
  it("see every attempt with the Authorization header redacted", function()
    local seen = {}
    local client = client_with({ status(503), ok() }, {
      on_request = function(e) seen[#seen + 1] = e end,
      on_response = function(e) seen[#seen + 1] = e end,
    })
    assert(client:order(12345):fetch())
    assert.are.equal(4, #seen)
    assert.are.equal(1, seen[1].attempt)
    assert.are.equal("GET", seen[1].method)
    assert.are.equal("Authorization: Bearer [redacted]", seen[1].headers[1])
    assert.are.equal(503, seen[2].status)
    assert.are.equal(2, seen[3].attempt)
    assert.are.equal(200, seen[4].status)
    for _, e in ipairs(seen) do
      for _, h in ipairs(e.headers or {}) do assert.is_nil(tostring(h):find(TOKEN, 1, true)) end
    end
  end)

  it("that raise do not break the call", function()
    local client = client_with({ ok() }, { on_request = function() error("boom") end })
    assert.are.equal(12345, assert(client:order(12345):fetch()).order_id)
  end)
end)
