-- Every fault the sandbox can inject, driven through the real client over
-- libcurl and real HTTP. Each row asserts the error kind, the number of
-- attempts (as the client counts them and as the sandbox saw them) and,
-- from the sandbox's ledger, how many charges were made: never more than
-- the one purchase asked for. A purchase is priced first (its quote), reads
-- the order first when it reconciles, and sends nothing after its POST but
-- re-reads, a new quote under a cap, and the one resend: each row checks
-- the sandbox's request log for that. Everything the rows produce is then
-- searched for the API token.
local proxyshard = require "proxyshard"
local sandbox_process = require "support.sandbox_process"
local shell = require "support.shell"

local TOKEN = "tok_live_5ecr3t-fault-matrix-0001"
local NOW = 1795000000 -- the client's clock, for HTTP-date Retry-After
local HTTP_DATE_IN_4S = os.date("!%a, %d %b %Y %H:%M:%S GMT", NOW + 4)

local ORDER = "/user/api/orders/12345"
local PURCHASE = ORDER .. "/addons/purchase"
local CALCULATE = ORDER .. "/addons/calculate"
local SIGN = ORDER .. "/signature/set"
local HTML = "<html><body><h1>502 Bad Gateway</h1></body></html>"

-- op: what the row calls; each returns value, err. spends: an add-on
-- purchase (priced first); reconciles: with reconcile = true (the order read
-- before the POST)
local ops = {
  fetch = { method = "GET", path = ORDER, run = function(c) return c:order(12345):fetch() end },
  quote = { method = "GET", path = CALCULATE,
    run = function(c) return c:order(12345):addon("p0f_slots"):quote(2) end },
  purchase = { method = "POST", path = PURCHASE, spends = true,
    run = function(c) return c:order(12345):addon("p0f_slots"):purchase(2) end },
  reconcile = { method = "POST", path = PURCHASE, spends = true, reconciles = true,
    run = function(c) return c:order(12345):addon("p0f_slots"):purchase(2, { reconcile = true }) end },
  reconcile_briefly = { method = "POST", path = PURCHASE, spends = true, reconciles = true,
    run = function(c) return c:order(12345):addon("p0f_slots"):purchase(2, { reconcile = true, settle = 0.5 }) end },
  reconcile_capped = { method = "POST", path = PURCHASE, spends = true, reconciles = true,
    run = function(c) return c:order(12345):addon("p0f_slots"):purchase(2, { reconcile = true, max_total = 60 }) end },
  sign = { method = "POST", path = SIGN,
    run = function(c) return c:order(12345):set_signatures { { ip = "203.0.113.11", signature = "win11" } } end },
}

-- expect: ok (a value came back) or kind (+ cause); attempts as the client
-- reports them (errors only); requests = how many the sandbox saw on the
-- op's route; charges = ledger entries; sleeps = the waits asked for;
-- quotes = how many times a purchase was priced (default 1).
local rows = {
  -- reads: retried when that is safe
  { "GET with 300 ms latency", "fetch", { { delay_ms = 300 } }, { ok = true, requests = 1 } },
  { "GET 503 JSON once, then fine", "fetch", { { status = 503 } }, { ok = true, requests = 2, sleeps = 1 } },
  { "GET 502 HTML every time", "fetch", { { status = 502, content_type = "text/html", body = HTML, times = 0 } },
    { kind = "server", attempts = 3, requests = 3 } },
  { "GET 429 Retry-After: 2", "fetch", { { status = 429, headers = { ["Retry-After"] = "2" } } },
    { ok = true, requests = 2, sleep_values = { 2 }, client = { timeout = 10 } } },
  { "GET 503 Retry-After as an HTTP-date", "quote",
    { { status = 503, headers = { ["Retry-After"] = HTTP_DATE_IN_4S } } },
    { ok = true, requests = 2, sleep_values = { 4 }, client = { timeout = 10 } } },
  -- one deadline for the whole call: no wait that would end past it
  { "GET 429 Retry-After: 2, beyond what is left of timeout = 1.5", "fetch",
    { { status = 429, headers = { ["Retry-After"] = "2" } } },
    { kind = "rate_limited", attempts = 1, requests = 1, sleeps = 0 } },
  { "GET 429 Retry-After beyond the cap", "fetch",
    { { status = 429, headers = { ["Retry-After"] = "3600" } } },
    { kind = "rate_limited", attempts = 1, requests = 1 } },
  { "GET invalid JSON", "fetch", { { status = 200, body = '{"success":true,"order":' } },
    { kind = "decode", attempts = 1, requests = 1 } },
  { "GET truncated body, then fine", "fetch", { { action = "truncate" } }, { ok = true, requests = 2 } },
  { "GET oversized body", "fetch", { { action = "oversize", size = 2 * 1024 * 1024 } },
    { kind = "decode", attempts = 1, requests = 1 } },
  { "GET dropped connection, then fine", "fetch", { { action = "drop" } }, { ok = true, requests = 2 } },
  { "GET stalled answer, then fine", "quote", { { action = "stall", stall_ms = 1000 } },
    { ok = true, requests = 2, client = { timeout = 3 } } },
  { "GET stalled past the whole call's timeout", "quote", { { action = "stall", stall_ms = 3000, times = 0 } },
    { kind = "timeout", attempts = 1, requests = 1 } },
  { "GET huge headers", "fetch", { { huge_headers = 300 * 1024 } }, { kind = "decode", attempts = 1, requests = 1 } },
  { "GET 404", "fetch", { { status = 404, body = '{"success":false,"message":"Order not found"}' } },
    { kind = "not_found", attempts = 1, requests = 1 } },

  -- purchases: never sent twice
  { "purchase with 300 ms latency", "purchase", { { delay_ms = 300 } }, { ok = true, requests = 1, charges = 1 } },
  { "purchase dropped before the charge", "purchase", { { action = "drop" } },
    { kind = "unknown_outcome", cause = "network", attempts = 1, requests = 1, charges = 0 } },
  { "purchase dropped after the charge", "purchase", { { action = "drop", commit = true } },
    { kind = "unknown_outcome", cause = "network", attempts = 1, requests = 1, charges = 1 } },
  { "purchase answered 502 HTML before the charge", "purchase",
    { { status = 502, content_type = "text/html", body = HTML } },
    { kind = "unknown_outcome", cause = "server", attempts = 1, requests = 1, charges = 0 } },
  { "purchase answered 502 HTML after the charge", "purchase",
    { { status = 502, content_type = "text/html", body = HTML, commit = true } },
    { kind = "unknown_outcome", cause = "server", attempts = 1, requests = 1, charges = 1 } },
  -- a 5xx is an unknown outcome whatever its body: gateways write JSON too
  { "purchase answered 503 JSON", "purchase", { { status = 503 } },
    { kind = "unknown_outcome", cause = "server", attempts = 1, requests = 1, charges = 0 } },
  { "purchase answered 502 JSON by a gateway after the charge", "purchase",
    { { status = 502, body = '{"success":false,"message":"upstream error"}', commit = true } },
    { kind = "unknown_outcome", cause = "server", attempts = 1, requests = 1, charges = 1 } },
  { "purchase answered 504 JSON by a gateway after the charge", "purchase",
    { { status = 504, body = '{"message":"Gateway Timeout"}', commit = true } },
    { kind = "unknown_outcome", cause = "server", attempts = 1, requests = 1, charges = 1 } },
  { "purchase 429 with Retry-After", "purchase", { { status = 429, headers = { ["Retry-After"] = "1" } } },
    { kind = "rate_limited", attempts = 1, requests = 1, charges = 0 } },
  { "purchase answer truncated after the charge", "purchase", { { action = "truncate", commit = true } },
    { kind = "unknown_outcome", cause = "network", attempts = 1, requests = 1, charges = 1 } },
  { "purchase answer stalled after the charge", "purchase", { { action = "stall", stall_ms = 3000, commit = true } },
    { kind = "unknown_outcome", cause = "timeout", attempts = 1, requests = 1, charges = 1 } },
  { "purchase answered with invalid JSON after the charge", "purchase",
    { { status = 200, body = "{\"success\":tru", commit = true } },
    { kind = "unknown_outcome", cause = "decode", attempts = 1, requests = 1, charges = 1 } },
  { "purchase answer oversized after the charge", "purchase",
    { { action = "oversize", size = 2 * 1024 * 1024, commit = true } },
    { kind = "unknown_outcome", cause = "decode", attempts = 1, requests = 1, charges = 1 } },
  { "purchase answer with a float amount", "purchase",
    { { status = 200, body = '{"success":true,"addons_price_paid":150.5}', commit = true } },
    { kind = "unknown_outcome", cause = "decode", attempts = 1, requests = 1, charges = 1 } },

  -- reconciliation: confirms; resends once only when the exchange is over
  -- and the order shows nothing was bought; never while it may still land
  { "reconcile: dropped after the charge", "reconcile", { { action = "drop", commit = true } },
    { ok = true, reconciled = true, requests = 1, charges = 1 } },
  { "reconcile: dropped before the charge", "reconcile", { { action = "drop" } },
    { kind = "unknown_outcome", cause = "network", attempts = 1, requests = 1, charges = 0 } },
  { "reconcile: 502 JSON by a gateway after the charge", "reconcile",
    { { status = 502, body = '{"success":false,"message":"upstream error"}', commit = true } },
    { ok = true, reconciled = true, requests = 1, charges = 1 } },
  { "reconcile: 504 JSON by a gateway before the charge", "reconcile",
    { { status = 504, body = '{"message":"Gateway Timeout"}' } },
    { kind = "unknown_outcome", cause = "server", attempts = 1, requests = 1, charges = 0 } },
  { "reconcile: 500 before the charge, then resent", "reconcile", { { status = 500 } },
    { ok = true, retried = true, requests = 2, charges = 1 } },
  { "reconcile: 500 twice before the charge", "reconcile", { { status = 500, times = 2 } },
    { kind = "server", attempts = 2, requests = 2, charges = 0 } },
  { "reconcile: 500, then the resend dropped after the charge", "reconcile",
    { { status = 500, times = 1 }, { action = "drop", commit = true, times = 1 } },
    { ok = true, reconciled = true, requests = 2, charges = 1 } },
  -- the price rises between the first quote and the resend: quoted again
  { "reconcile: 500 before the charge, and the price rose before the resend", "reconcile_capped",
    { { status = 500 }, { path = CALCULATE, method = "GET", delay_ms = 0 },
      { path = CALCULATE, method = "GET", status = 200,
        body = '{"success":true,"addon_key":"p0f_slots","add_qty":2,"price_per_unit":5000,"add_total":10000}' } },
    { kind = "budget", requests = 1, charges = 0, quotes = 2 } },
  -- a commit that lands after the client gave up (timeout = 1, held 2.5 s)
  { "reconcile: a slow commit lands while it re-reads", "reconcile",
    { { delay_ms = 2500, commit = "after_delay" } },
    { ok = true, reconciled = true, requests = 1, charges = 1, real_sleep = true, client = { timeout = 1 } } },
  { "reconcile: a slow commit lands after the settle window", "reconcile_briefly",
    { { delay_ms = 2500, commit = "after_delay" } },
    { kind = "unknown_outcome", cause = "timeout", attempts = 1, requests = 1, charges = 1, real_sleep = true,
      client = { timeout = 1 }, settle_ms = 2500 } },

  -- through an explicit proxy (spec/support/fake_proxy.lua): the same rules
  { "via a proxy: purchase", "purchase", {}, { ok = true, requests = 1, charges = 1, via_proxy = true } },
  { "via a proxy: purchase dropped after the charge", "purchase", { { action = "drop", commit = true } },
    { kind = "unknown_outcome", cause = "network", attempts = 1, requests = 1, charges = 1, via_proxy = true } },
  { "via a proxy: reconcile, dropped after the charge", "reconcile", { { action = "drop", commit = true } },
    { ok = true, reconciled = true, requests = 1, charges = 1, via_proxy = true } },
  { "via a proxy: GET 503 once, then fine", "fetch", { { status = 503 } },
    { ok = true, requests = 2, via_proxy = true } },

  -- another state change: signatures
  { "signatures dropped after they were set", "sign", { { action = "drop", commit = true } },
    { kind = "unknown_outcome", cause = "network", attempts = 1, requests = 1, charges = 0, slots_used = 2 } },
  { "signatures dropped before", "sign", { { action = "drop" } },
    { kind = "unknown_outcome", cause = "network", attempts = 1, requests = 1, charges = 0, slots_used = 1 } },
}

describe("fault matrix", function()
  local sb
  local produced = {} -- everything the client handed back or told its hooks

  local fake_proxy, proxy_log

  setup(function()
    sb = sandbox_process.start("--token " .. TOKEN)
    proxy_log = os.tmpname()
    fake_proxy = shell.start("lua5.4 spec/support/fake_proxy.lua " .. shell.q(proxy_log))
  end)

  teardown(function()
    if sb then sb:stop() end
    shell.stop(fake_proxy)
    if proxy_log then os.remove(proxy_log) end
  end)

  -- the requests the fake proxy forwarded since the row began
  local function proxied()
    local n = 0
    for line in (shell.read_file(proxy_log) or ""):gmatch("[^\n]+") do
      local entry = require("cjson").decode(line)
      if entry.line and entry.line:find(sb.url, 1, true) then n = n + 1 end
    end
    return n
  end

  local function new_client(sleeps, expect)
    expect = expect or {}
    local opts = {
      token = TOKEN, base_url = sb.url, timeout = 1.5,
      sleep = function(s)
        sleeps[#sleeps + 1] = s
        if expect.real_sleep then require("proxyshard.core").sleep(s) end
      end,
      now = function() return NOW end,
      on_request = function(e) produced[#produced + 1] = e end,
      on_response = function(e) produced[#produced + 1] = e end,
    }
    for k, v in pairs(expect.client or {}) do opts[k] = v end
    if expect.via_proxy then opts.proxy = "http://127.0.0.1:" .. fake_proxy.port end
    return proxyshard.new(opts)
  end

  -- What a purchase sent, from the sandbox's log (after the kept-alive
  -- GET /user/api/me): its quote first; with reconcile, the order read
  -- before the POST; after the POST nothing but re-reads of the order, a
  -- new quote (only under a cap, before a resend) and the resend itself,
  -- and without reconcile nothing at all.
  local function check_spend(op, expect)
    local log = sb:requests()
    assert.are.same({ "GET", "/user/api/me" }, { log[1].method, log[1].path })
    assert.are.same({ "GET", CALCULATE, "addon_key=p0f_slots&add_qty=2" },
      { log[2].method, log[2].path, log[2].query }, "priced first")
    local at = 3
    if op.reconciles then
      assert.are.same({ "GET", ORDER }, { log[3].method, log[3].path }, "the order read before")
      at = 4
    end
    assert.are.same({ "POST", PURCHASE }, { log[at].method, log[at].path }, "then the purchase")
    local quotes = 1
    for i = at + 1, #log do
      local r = log[i]
      local seen = r.method .. " " .. r.path
      assert.is_true(op.reconciles, "sent after a purchase that does not reconcile: " .. seen)
      if seen == "GET " .. CALCULATE then
        quotes = quotes + 1
      else
        assert.is_true(seen == "GET " .. ORDER or seen == "POST " .. PURCHASE, "sent while reconciling: " .. seen)
      end
    end
    assert.are.equal(expect.quotes or 1, quotes, "quotes")
  end

  local function seen_on(route)
    local n = 0
    for _, r in ipairs(sb:requests()) do
      if r.method == route.method and r.path == route.path then n = n + 1 end
    end
    return n
  end

  for _, row in ipairs(rows) do
    local name, op_name, faults, expect = row[1], row[2], row[3], row[4]
    it(name, function()
      sb:reset()
      local op = ops[op_name]
      for _, f in ipairs(faults) do
        f.method, f.path = f.method or op.method, f.path or op.path
        sb:fault(f)
      end
      local sleeps = {}
      shell.write_file(proxy_log, "")
      local client = new_client(sleeps, expect)
      -- a kept-alive connection first, so the faulted request goes out on
      -- a reused one: the case where libcurl would silently resend
      assert(client:me())
      local value, err = op.run(client)
      client:close()
      produced[#produced + 1] = value
      produced[#produced + 1] = err
      produced[#produced + 1] = tostring(value)
      produced[#produced + 1] = tostring(err)

      if expect.ok then
        assert.is_nil(err and tostring(err))
        assert.is_not_nil(value)
        if expect.reconciled then assert.is_true(value.reconciled) end
        if expect.retried then assert.is_true(value.retried) end
      else
        assert.is_nil(value)
        assert.are.equal(expect.kind, err.kind, tostring(err))
        if expect.cause then assert.are.equal(expect.cause, err.cause) end
        if expect.attempts then assert.are.equal(expect.attempts, err.attempts) end
      end
      -- a request still held by the sandbox lands meanwhile: never twice
      if expect.settle_ms then require("proxyshard.core").sleep(expect.settle_ms / 1000) end
      assert.are.equal(expect.requests, seen_on(op), "requests the sandbox saw")
      if op.spends then check_spend(op, expect) end
      -- through the proxy when asked, and never otherwise (no proxy from the environment)
      if expect.via_proxy then
        assert.is_true(proxied() >= expect.requests, "requests the proxy forwarded")
      else
        assert.are.equal(0, proxied(), "requests the proxy forwarded")
      end
      local ledger = sb:ledger()
      assert.are.equal(expect.charges or 0, #ledger, "charges")
      assert.is_true(#ledger <= 1, "charged twice")
      -- a purchase that went through says what it cost: the one charge made
      if op.spends and expect.ok then assert.are.equal(ledger[1].amount_cents, value.charged.cents, "charged") end
      if expect.sleeps then assert.are.equal(expect.sleeps, #sleeps) end
      if expect.sleep_values then assert.are.same(expect.sleep_values, sleeps) end
      if expect.slots_used then
        local info = assert(proxyshard.new { token = TOKEN, base_url = sb.url }:order(12345):fetch())
        assert.are.equal(expect.slots_used, info.p0f_slots_used)
      end
    end)
  end

  it("went out on a kept-alive connection when it was dropped after the charge", function()
    sb:reset()
    sb:fault { method = "POST", path = PURCHASE, action = "drop", commit = true }
    local client = new_client({})
    assert(client:me())
    local receipt, err = client:order(12345):addon("p0f_slots"):purchase(2)
    client:close()
    assert.is_nil(receipt)
    assert.are.equal("unknown_outcome", err.kind)
    local log = sb:requests()
    assert.are.equal(3, #log)
    assert.are.same({ "GET", "/user/api/me" }, { log[1].method, log[1].path })
    assert.are.same({ "GET", CALCULATE }, { log[2].method, log[2].path }) -- the quote, first
    assert.are.same({ "POST", PURCHASE }, { log[3].method, log[3].path })
    -- the same TCP connection throughout
    assert.are.equal(log[1].connection, log[2].connection)
    assert.are.equal(log[2].connection, log[3].connection)
    assert.are.equal(1, #sb:ledger())
  end)

  it("never let the token out", function()
    assert.is_true(#produced > 100)
    local seen = {}
    local function search(v, where)
      if type(v) == "string" then
        assert.is_nil(v:find(TOKEN, 1, true), "token found in " .. where)
      elseif type(v) == "table" and not seen[v] then
        seen[v] = true
        for k, x in pairs(v) do
          search(tostring(k), where .. "." .. tostring(k))
          search(x, where .. "." .. tostring(k))
        end
        local mt = getmetatable(v)
        if mt and mt.__tostring then search(tostring(v), where .. ":tostring") end
      end
    end
    search(produced, "produced")
    -- and the sandbox's own request log shows it redacted
    for _, r in ipairs(sb:requests()) do assert.are.equal("[redacted]", r.headers.authorization) end
  end)
end)
