-- order:top_up_p0f against the sandbox over HTTP: it buys only what is
-- missing, so a job run twice (killed half-way, started again) never buys
-- twice.
local proxyshard = require "proxyshard"
local sandbox_process = require "support.sandbox_process"

describe("order:top_up_p0f", function()
  local sb, client

  setup(function()
    sb = sandbox_process.start()
    client = proxyshard.new { token = "sandbox-token", base_url = sb.url }
  end)

  teardown(function()
    if client then client:close() end
    if sb then sb:stop() end
  end)

  before_each(function() sb:reset() end)

  local function free_slots()
    return assert(client:order(12345):fetch()):p0f_slots_free()
  end

  it("buys the missing slots once, and nothing the second time", function()
    local before = free_slots()
    local want = before + 3
    local first = assert(client:order(12345):top_up_p0f(want, { max_total = "5.00" }))
    assert.are.equal(3, first.bought)
    assert.are.equal(before, first.free_before)
    assert.are.equal(want, first.free_after)
    assert.are.equal(want, free_slots())
    local ledger = sb:ledger()
    assert.are.equal(1, #ledger)
    assert.are.equal(3, ledger[1].qty)
    assert.are.equal(first.receipt.quote.total.cents, ledger[1].amount_cents)
    assert.matches("bought 3 for %$", tostring(first))

    local second = assert(client:order(12345):top_up_p0f(want, { max_total = "5.00" }))
    assert.are.equal(0, second.bought)
    assert.is_nil(second.receipt)
    assert.are.equal(1, #sb:ledger())
    assert.matches("nothing to buy", tostring(second))
  end)

  it("buys nothing when the missing slots cost more than max_total", function()
    local r, err = client:order(12345):top_up_p0f(free_slots() + 10, { max_total = 1 })
    assert.is_nil(r)
    assert.are.equal("budget", err.kind)
    assert.are.equal(0, #sb:ledger())
  end)

  it("refuses bad input and unknown options before any request", function()
    for _, call in ipairs({
      function() return client:order(12345):top_up_p0f(-1) end,
      function() return client:order(12345):top_up_p0f(2, { max_totl = 5 }) end,
      function() return client:order("x"):top_up_p0f(2) end,
      -- a bad cap, also when nothing is missing (0 wanted)
      function() return client:order(12345):top_up_p0f(1, { max_total = true }) end,
      function() return client:order(12345):top_up_p0f(1, { max_total = -1 }) end,
      function() return client:order(12345):top_up_p0f(1, { max_total = 2 ^ 53 }) end,
      function() return client:order(12345):top_up_p0f(0, { max_total = "lots" }) end,
      function() return client:order(12345):top_up_p0f(0, { settle = 5 }) end,
      function() return client:order(12345):top_up_p0f(0, { confirm = "yes" }) end,
      function() return client:order(12345):top_up_p0f(0, { lock_wait = -1 }) end,
    }) do
      local r, err = call()
      assert.is_nil(r)
      assert.are.equal("invalid_argument", err.kind)
    end
    local seen = 0
    for _, req in ipairs(sb:requests()) do if req.path:find("^/user/api") then seen = seen + 1 end end
    assert.are.equal(0, seen)
  end)
end)
