-- proxyshard.plan / plan:apply against the sandbox over HTTP: a desired
-- state planned with the sandbox's exact prices, applied once under a cap,
-- refused when stale, drift reported, converging when run again, held off
-- by another process's lock, and rolling forward after a failed spend.
local proxyshard = require "proxyshard"
local sandbox_process = require "support.sandbox_process"
local shell = require "support.shell"
local fixture = require "proxyshard.sandbox.world.fixture"
local time = require "proxyshard.wire.time"
local json = require "proxyshard.wire.json"
local saved_plan = require "proxyshard.desired.plan"

local q = shell.q
local ROOT = shell.run("pwd"):gsub("%s+$", "")
local PURCHASE = "/user/api/orders/12345/addons/purchase"
-- the sandbox's today: renew_within_days counts from it, not the machine's clock
local NOW = time.parse(fixture.now)

-- What the fixture says, to compute the expected prices from.
local function fixture_order(id)
  for _, o in ipairs(fixture.orders) do
    if o.order_id == id then return o end
  end
  error("no order " .. id .. " in the fixture")
end

local function fixture_cycle(order)
  for _, p in ipairs(fixture.products) do
    if p.name == order.product_name then
      for _, c in ipairs(p.cycles) do
        if c.name == order.cycle_name then return c end
      end
    end
  end
  error("no cycle for order " .. order.order_id)
end

local ORDER_12345 = fixture_order(12345)
local P0F_UNIT = fixture.catalog.p0f_slots.price_per_unit[ORDER_12345.product_name] -- 30 cents
local FREE_NOW = ORDER_12345.addons[1].qty - 1 -- 3 slots, 203.0.113.10 signed: 2 free
local MIN_FREE = 4
-- one more IP to sign takes a slot too
local SLOTS = MIN_FREE + 1 - FREE_NOW -- 3
local RENEWAL_CENTS = (function()
  local o = fixture_order(12346)
  local addons = 0
  for _, line in ipairs(o.addons) do addons = addons + line.qty * line.price_per_unit end
  return fixture_cycle(o).price * o.quantity + addons -- 2 × 400 + 1 × 60
end)()

-- The desired state the specs make true (a fresh table each time).
local function desired()
  return {
    orders = {
      { order = 12345, min_free_p0f = MIN_FREE, tag = "scrapers", signatures = { ["203.0.113.11"] = "win11" } },
      { order = 12346, renew_within_days = 5, auto_renewal = true },
      { order = 12347, del_np = { ["198.51.100.21"] = true } },
    },
    residential = {
      premium = { sub_users = {
        { name = "team-a", min_remaining_gb = 6 },
        { name = "team-c", min_remaining_gb = 2 },
      } },
    },
  }
end

local EXPECTED = {
  "set_tag order 12345",
  "buy_p0f order 12345",
  "set_signatures order 12345",
  "set_auto_renewal order 12346",
  "renew order 12346",
  "set_deletion order 12347",
  "add_data sub-user team-a (premium)",
  "create_sub_user sub-user team-c (premium)",
}

local function kinds(actions)
  local out = {}
  for i, a in ipairs(actions) do out[i] = a.kind .. " " .. a.target end
  return out
end

local function outcomes(report)
  local out = {}
  for i, a in ipairs(report.actions) do out[i] = a.outcome end
  return out
end

describe("proxyshard.plan against the sandbox", function()
  local sb, client, dir

  setup(function()
    sb = sandbox_process.start()
    client = proxyshard.new { token = "sandbox-token", base_url = sb.url }
  end)

  teardown(function()
    if client then client:close() end
    if sb then sb:stop() end
  end)

  before_each(function()
    sb:reset()
    dir = shell.tmpdir("proxyshard-desired")
  end)

  after_each(function()
    shell.sh("rm -rf " .. q(dir))
  end)

  local function make_plan(state)
    return assert(proxyshard.plan(client, state or desired(), { state_dir = dir, now = NOW }))
  end

  -- the requests to the API (not the sandbox's control endpoints) with this method
  local function api_requests(method, path)
    local out = {}
    for _, r in ipairs(sb:requests()) do
      if r.method == method and r.path:find("^/user/api") and (path == nil or r.path == path) then
        out[#out + 1] = r
      end
    end
    return out
  end

  local function fetch(id)
    return assert(client:order(id):fetch())
  end

  local function signature_of(id, address)
    for _, p in ipairs(assert(client:order(id):proxies())) do
      if p.ip == address then return p.signature end
    end
    error("no IP " .. address .. " in order " .. id)
  end

  local function sub_users()
    local out = {}
    for _, u in ipairs(assert(client:residential("premium"):all_sub_users())) do out[u.first_name] = u end
    return out
  end

  local function sandbox_ip(id, address)
    for _, o in ipairs(sb:state().orders) do
      if o.order_id == id then
        for _, entry in ipairs(o.ips) do
          if entry.ip == address then return entry end
        end
      end
    end
    error("no IP " .. address .. " in the sandbox's order " .. id)
  end

  it("plans the actions in order, priced at the sandbox's prices, and changes nothing", function()
    assert.are.equal(3, SLOTS)
    assert.are.equal(860, RENEWAL_CENTS)
    local plan = make_plan()
    assert.are.same(EXPECTED, kinds(plan.actions))
    local a = plan.actions
    assert.are.equal("scrapers", a[1].tag)
    assert.are.equal(12345, a[2].order_id)
    assert.are.equal(SLOTS, a[2].qty)
    assert.is_true(a[2].spends)
    assert.are.equal(SLOTS * P0F_UNIT, a[2].price.cents)
    assert.is_nil(a[2].estimate)
    assert.are.same({ { ip = "203.0.113.11", signature = "win11" } }, a[3].items)
    assert.is_true(a[4].enabled)
    assert.is_true(a[5].spends)
    assert.is_true(a[5].estimate)
    assert.are.equal(RENEWAL_CENTS, a[5].price.cents)
    assert.are.same({ { ip = "198.51.100.21", value = true } }, a[6].items)
    assert.are.equal("u-1", a[7].user_id)
    assert.are.equal(2, a[7].gb) -- 4 GB left, floor 6
    assert.are.equal("team-c", a[8].name)
    assert.are.equal(2, a[8].gb)
    for _, i in ipairs({ 1, 3, 4, 6, 7, 8 }) do assert.is_nil(a[i].spends) end

    assert.are.equal(8, plan:changes())
    assert.are.equal(2, plan:spends())
    assert.are.equal(SLOTS * P0F_UNIT + RENEWAL_CENTS, plan.total.cents)
    assert.are.equal(950, plan.total.cents)
    assert.is_true(plan.estimated)
    assert.are.equal(0, plan.unpriced)
    assert.are.same({}, plan.drift)
    assert.are.same({}, plan.notes)

    local text = tostring(plan)
    assert.matches('1%. %+ set the tag of order 12345 to "scrapers" %(now "sandbox"%) — free', text)
    assert.matches("2%. %$ buy 3 p0f slots for order 12345 %(2 free, 1 IP to sign%) — %$0%.90", text)
    assert.matches("5%. %$ renew order 12346 %(expired 41 days ago, on%-hold%) — about %$8%.60", text)
    assert.matches("8%. %+ create sub%-user team%-c %(premium%) with 2 GB", text)
    assert.matches("8 actions %(2 spending%), total about %$9%.50 %(part estimated%)", text)
    assert.not_matches("Changed outside", text)

    local doc = plan:to_json()
    assert.are.equal("proxyshard-plan", doc.format)
    assert.are.equal(950, doc.total_cents)
    assert.are.equal(8, doc.changes)
    assert.are.equal(2, doc.spends)
    assert.is_true(doc.estimated)
    assert.are.equal(8, #doc.actions)
    assert.are.equal(90, doc.actions[2].price_cents)
    assert.are.equal(860, doc.actions[5].price_cents)
    assert.is_nil(doc.actions[1].price_cents)
    assert.is_nil(doc.actions[2].price) -- money only as cents
    assert.are.equal(plan.digest, doc.digest)
    assert.matches("^%x+$", doc.digest)
    -- plain data: it encodes, and reads back the same
    local back = json.decode(json.encode(doc))
    assert.are.equal(950, back.total_cents)
    assert.are.equal("buy_p0f", back.actions[2].kind)

    -- a plan only reads
    assert.are.same({}, sb:ledger())
    assert.are.equal(0, #api_requests("POST"))
    assert.are.equal(0, #api_requests("PUT"))
    assert.are.equal("sandbox", fetch(12345).tag)
  end)

  it("applies: each spend once, at the plan's prices, and the account is as desired", function()
    local plan = make_plan()
    local report = assert(plan:apply { max_total = "20.00", state_dir = dir })
    assert.is_true(report.ok)
    assert.are.same({ "done", "done", "done", "done", "done", "done", "done", "done" }, outcomes(report))
    assert.are.same({ done = 8, failed = 0, unknown = 0, skipped = 0, refused = 0 }, report.counts)

    local ledger = sb:ledger()
    assert.are.equal(2, #ledger)
    assert.are.equal("addon", ledger[1].kind)
    assert.are.equal(12345, ledger[1].order_id)
    assert.are.equal(SLOTS, ledger[1].qty)
    assert.are.equal(plan.actions[2].price.cents, ledger[1].amount_cents)
    assert.are.equal("renewal", ledger[2].kind)
    assert.are.equal(12346, ledger[2].order_id)
    -- the renewal's estimate is what the sandbox charged
    assert.are.equal(plan.actions[5].price.cents, ledger[2].amount_cents)
    assert.are.equal(plan.total.cents, sb:spent())
    assert.are.equal(sb:spent(), report.spent.cents)
    assert.are.equal(ledger[1].amount_cents, report.actions[2].cost.cents)
    assert.are.equal(ledger[2].amount_cents, report.actions[5].cost.cents)
    assert.matches("applied: 8 done, 0 failed, 0 unknown, 0 not done; spent %$9%.50 %(cap %$20%.00%)",
      tostring(report))
    -- the report as data encodes as JSON, money as _cents (no money value left in it)
    local doc = require("cjson").decode(require("proxyshard.wire.json").encode(report:to_json()))
    assert.are.equal(plan.actions[2].price.cents, doc.actions[2].reserved_cents)
    assert.are.equal(sb:spent(), doc.spent_cents)

    -- the account is as desired
    local o = fetch(12345)
    assert.are.equal("scrapers", o.tag)
    assert.are.equal(3 + SLOTS, o.p0f_slots_available)
    assert.are.equal(2, o.p0f_slots_used)
    assert.are.equal(MIN_FREE, o.p0f_slots_available - o.p0f_slots_used)
    assert.are.equal("win11", signature_of(12345, "203.0.113.11"))
    assert.are.equal("linux", signature_of(12345, "203.0.113.10"))
    local renewed = fetch(12346)
    assert.are.equal("active", renewed.status)
    assert.is_true(renewed.auto_renewal)
    assert.are.equal("2026-12-25T12:00:00Z", renewed.expires_at) -- the sandbox's today + 30 days
    assert.is_true(sandbox_ip(12347, "198.51.100.21").delete)
    assert.is_nil(sandbox_ip(12347, "198.51.100.20").delete)
    local users = sub_users()
    assert.are.equal(6, users["team-a"].data_remain)
    assert.are.equal(2, users["team-c"].data_remain)
    assert.are.equal(1, #api_requests("POST", "/user/api/proxies/sub-user"))

    -- a second plan has nothing to do, and sees no drift (what apply did is not drift)
    local again = make_plan()
    assert.are.equal(0, again:changes())
    assert.are.equal(0, again.total.cents)
    assert.are.same({}, again.drift)
    assert.matches("No changes: the account is as the desired state says%.", tostring(again))
    assert.are.equal(0, again:to_json().changes)
  end)

  it("buys nothing above max_total: the spend that no longer fits is refused", function()
    local plan = make_plan()
    -- $1.00 fits the slots ($0.90) but not the renewal after them
    local report = assert(plan:apply { max_total = "1.00", state_dir = dir })
    assert.is_false(report.ok)
    assert.are.same({ "done", "done", "done", "done", "refused", "done", "done", "done" }, outcomes(report))
    local refused = report.actions[5]
    assert.are.equal("budget", refused.error.kind)
    assert.matches("above the %$0%.10 left of max_total %$1%.00", refused.error.message)
    assert.are.equal(1, #report.errors)
    assert.are.equal(1, report.counts.refused)

    local ledger = sb:ledger()
    assert.are.equal(1, #ledger)
    assert.are.equal("addon", ledger[1].kind)
    assert.are.equal(90, ledger[1].amount_cents)
    assert.is_true(sb:spent() <= 100)
    assert.are.equal(0, #api_requests("POST", "/user/api/orders/12346/renew"))
    assert.are.equal("on-hold", fetch(12346).status)
    assert.matches("applied in part", tostring(report))
    assert.matches("refused", tostring(report))

    -- the cap given as integer cents: 0 refuses the one spend left, nothing bought
    local rest = make_plan()
    assert.are.same({ "renew order 12346" }, kinds(rest.actions))
    local r2 = assert(rest:apply { max_total = 0, state_dir = dir })
    assert.is_false(r2.ok)
    assert.are.equal("refused", r2.actions[1].outcome)
    assert.are.equal(1, #sb:ledger())
  end)

  it("refuses to apply a spending plan without max_total, sending nothing", function()
    local plan = make_plan()
    local report, err = plan:apply { state_dir = dir }
    assert.is_nil(report)
    assert.are.equal("invalid_argument", err.kind)
    assert.matches("max_total is needed", err.message)
    assert.are.equal(0, #api_requests("POST"))
    assert.are.equal(0, #api_requests("PUT"))
    assert.are.same({}, sb:ledger())
    assert.are.equal("sandbox", fetch(12345).tag) -- the free actions were not done either

    -- a bad cap or option is refused before anything too
    for _, opts in ipairs({ { max_total = "lots", state_dir = dir }, { max_total = -1, state_dir = dir },
      { max_totl = "5.00", state_dir = dir } }) do
      local r, e = plan:apply(opts)
      assert.is_nil(r)
      assert.are.equal("invalid_argument", e.kind)
    end
    assert.are.equal(0, #api_requests("POST"))

    -- a plan that spends nothing needs no cap
    local free = make_plan { orders = { { order = 12345, tag = "scrapers" } } }
    assert.are.equal(0, free:spends())
    local done = assert(free:apply { state_dir = dir })
    assert.is_true(done.ok)
    assert.are.equal("scrapers", fetch(12345).tag)
    assert.are.same({}, sb:ledger())
  end)

  it("refuses a saved plan once the account changed by hand (stale), buying nothing", function()
    local path = dir .. "/plan.json"
    assert(make_plan():save(path))
    assert(client:order(12345):set_tag("other"))
    local loaded = assert(saved_plan.load(client, path, { state_dir = dir, now = NOW }))
    assert.are.same(EXPECTED, kinds(loaded.actions))
    assert.are.equal(950, loaded.total.cents)
    -- asked before it is shown: stale, and nothing sent but reads
    local fits, why = loaded:check()
    assert.is_nil(fits)
    assert.are.equal("stale", why.kind)
    local report, err = loaded:apply { max_total = "20.00", state_dir = dir }
    assert.is_nil(report)
    assert.are.equal("stale", err.kind)
    assert.matches("saved in .*plan%.json", err.message)
    assert.matches("nothing was done", err.message)
    assert.are.same({}, sb:ledger())
    assert.are.equal("other", fetch(12345).tag)
    assert.are.equal(0, #api_requests("POST", PURCHASE))

    -- a slot bought by hand makes it stale too: the ledger keeps that one charge only
    sb:reset()
    assert(make_plan():save(path))
    assert(client:order(12345):addon("p0f_slots"):purchase(1, { max_total = "1.00" }))
    assert.are.equal(1, #sb:ledger())
    loaded = assert(saved_plan.load(client, path, { state_dir = dir, now = NOW }))
    report, err = loaded:apply { max_total = "20.00", state_dir = dir }
    assert.is_nil(report)
    assert.are.equal("stale", err.kind)
    assert.are.equal(1, #sb:ledger())
    assert.are.equal(1, #api_requests("POST", PURCHASE))
    assert.are.equal("sandbox", fetch(12345).tag)
  end)

  it("applies a saved plan when nothing changed in between", function()
    local path = dir .. "/plan.json"
    local plan = make_plan()
    assert(plan:save(path))
    local loaded = assert(saved_plan.load(client, path, { state_dir = dir, now = NOW }))
    assert.is_true(loaded:check())
    assert.are.equal(plan.digest, loaded.digest)
    assert.are.same(EXPECTED, kinds(loaded.actions))
    assert.are.equal(90, loaded.actions[2].price.cents)
    assert.are.equal(860, loaded.actions[5].price.cents)
    local report = assert(loaded:apply { max_total = "20.00", state_dir = dir })
    assert.is_true(report.ok)
    assert.are.equal(8, report.counts.done)
    local ledger = sb:ledger()
    assert.are.equal(2, #ledger)
    assert.are.equal(90, ledger[1].amount_cents)
    assert.are.equal(860, ledger[2].amount_cents)
    assert.are.equal(0, make_plan():changes())

    -- another account's client refuses the saved plan
    local other = proxyshard.new { token = "another-token", base_url = sb.url }
    local r, err = saved_plan.load(other, path)
    other:close()
    assert.is_nil(r)
    assert.are.equal("invalid_argument", err.kind)
    assert.matches("another account", err.message)
  end)

  it("reports drift made by hand since the last apply, and restores the desired values", function()
    assert(make_plan():apply { max_total = "20.00", state_dir = dir })
    assert.are.equal(2, #sb:ledger())
    assert(client:order(12345):set_tag("hand"))
    assert(client:order(12346):set_auto_renewal(false))
    assert(client:residential("premium"):sub_user("u-1"):add_data(1))

    local plan = make_plan()
    assert.are.same({
      { target = "order 12345", field = "tag", was = "scrapers", now = "hand" },
      { target = "order 12346", field = "auto_renewal", was = true, now = false },
      { target = "sub-user team-a (premium)", field = "data", was = 7, now = 8 },
    }, plan.drift)
    local text = tostring(plan)
    assert.matches("Changed outside proxyshard since the last apply:", text)
    assert.matches('~ order 12345: tag "scrapers" → "hand"', text, 1, true)
    assert.matches("~ order 12346: auto_renewal true → false", text, 1, true)
    assert.matches("~ sub-user team-a (premium): data 7 → 8", text, 1, true)
    local doc = plan:to_json()
    assert.are.equal(3, #doc.drift)
    assert.are.equal("hand", doc.drift[1].now)

    -- the actions put back the desired values (the floor of team-a still holds: nothing for it)
    assert.are.same({ "set_tag order 12345", "set_auto_renewal order 12346" }, kinds(plan.actions))
    assert.are.equal("scrapers", plan.actions[1].tag)
    assert.is_true(plan.actions[2].enabled)
    assert.are.equal(0, plan:spends())
    local report = assert(plan:apply { state_dir = dir })
    assert.is_true(report.ok)
    assert.are.equal("scrapers", fetch(12345).tag)
    assert.is_true(fetch(12346).auto_renewal)
    assert.are.equal(2, #sb:ledger())

    -- recorded: the next plan shows neither drift nor changes
    local after = make_plan()
    assert.are.same({}, after.drift)
    assert.are.equal(0, after:changes())
  end)

  it("never writes the token a server echoed into its answers: not in a saved plan, the record or the text",
    function()
      -- a client of its own: one that has seen the token echoed prints it [redacted] from then on
      local c = proxyshard.new { token = "sandbox-token", base_url = sb.url }
      local echoed = '{"success":true,"order":{"order_id":12345,"product_name":"Datacenter Proxy","status":"active",'
        .. '"quantity":5,"p0f_slots_available":3,"p0f_slots_used":1,"addons":[],'
        .. '"tag":"sandbox-token, sandbox%2Dtoken, sandbox\\u002dtoken"}}'
      sb:fault { method = "GET", path = "/user/api/orders/12345", status = 200, body = echoed, times = 50 }
      local state = { orders = { { order = 12345, tag = "scrapers" } } }
      local plan = assert(proxyshard.plan(c, state, { state_dir = dir, now = NOW }))
      local text = tostring(plan)
      assert.matches('now "[redacted], [redacted], [redacted]"', text, 1, true)
      local path = dir .. "/plan.json"
      assert(plan:save(path))
      assert(plan:apply { state_dir = dir })
      -- the tag was set, but the fault still answers the echo: the record holds it redacted,
      -- and the next plan sees no drift in it (compared as written)
      local again = assert(proxyshard.plan(c, state, { state_dir = dir, now = NOW }))
      assert.are.same({}, again.drift)
      local files = shell.run("cat " .. q(dir) .. "/*")
      assert.is_true(#files > 100)
      for _, spelling in ipairs { "sandbox-token", "sandbox%2Dtoken", "sandbox\\u002dtoken" } do
        assert.is_nil(files:find(spelling, 1, true), spelling)
        assert.is_nil(text:find(spelling, 1, true), spelling)
      end
      c:close()
    end)

  it("converges when run again: nothing is bought twice", function()
    assert(make_plan():apply { max_total = "20.00", state_dir = dir })
    local ledger = sb:ledger()
    assert.are.equal(2, #ledger)
    local second = assert(make_plan():apply { max_total = "20.00", state_dir = dir })
    assert.is_true(second.ok)
    assert.are.equal(0, #second.actions)
    assert.are.equal(0, second.spent.cents)
    assert.are.same(ledger, sb:ledger())
    assert.are.equal(1, #api_requests("POST", PURCHASE))
  end)

  it("refuses an old plan object applied a second time (stale), buying nothing", function()
    local plan = make_plan()
    assert(plan:apply { max_total = "20.00", state_dir = dir })
    assert.are.equal(2, #sb:ledger())
    local report, err = plan:apply { max_total = "20.00", state_dir = dir }
    assert.is_nil(report)
    assert.are.equal("stale", err.kind)
    assert.are.equal(2, #sb:ledger())
    assert.are.equal(1, #api_requests("POST", PURCHASE))
  end)

  it("does not apply while another process holds the account's lock", function()
    local plan = make_plan()
    local lock_path = require("proxyshard.jobs.state").path(dir, client, "lock")
    local ready, release, gone = dir .. "/ready", dir .. "/release", dir .. "/gone"
    shell.write_file(dir .. "/holder.lua", ([[
package.path = %q
package.cpath = %q
local core = require "proxyshard.core"
local socket = require "socket"
local lk = assert(core.lock(arg[1], 0))
local f = assert(io.open(arg[2], "w")); f:write("held\n"); f:close()
local deadline = socket.gettime() + 30 -- let go in the end, whatever happens
while socket.gettime() < deadline do
  local r = io.open(arg[3], "r")
  if r then r:close() break end
  socket.sleep(0.02)
end
lk:close()
f = assert(io.open(arg[4], "w")); f:close()
]]):format(package.path, package.cpath))
    assert(shell.sh(("cd %s && %s %s %s %s %s %s >/dev/null 2>&1 &"):format(q(ROOT), shell.LUA,
      q(dir .. "/holder.lua"), q(lock_path), q(ready), q(release), q(gone))))
    assert(shell.wait_for(function() return shell.read_file(ready) end, 20), "the holder did not take the lock")

    local before = #sb:requests()
    local report, err = plan:apply { max_total = "20.00", state_dir = dir }
    assert.is_nil(report)
    assert.are.equal("locked", err.kind)
    assert.matches("another run is spending for this account", err.message)
    assert.are.equal(before, #sb:requests()) -- not even a read: the lock comes first
    assert.are.same({}, sb:ledger())

    shell.write_file(release, "")
    assert(shell.wait_for(function() return shell.read_file(gone) end, 20), "the holder did not let go")
    report = assert(plan:apply { max_total = "20.00", state_dir = dir })
    assert.is_true(report.ok)
    assert.are.equal(2, #sb:ledger())
  end)

  it("applies while this process itself holds the lock (it is counted, not taken twice)", function()
    local release = assert(require("proxyshard.jobs.lock").take(client, { dir = dir }))
    local ok, report = pcall(function()
      return make_plan():apply { max_total = "20.00", state_dir = dir }
    end)
    release()
    assert.is_true(ok, report)
    assert.is_true(report.ok)
    assert.are.equal(2, #sb:ledger())
  end)

  it("rolls forward when a spend's answer is a 500: later spends stop, other free actions go on", function()
    sb:fault { path = PURCHASE, method = "POST", status = 500, times = 1 }
    local plan = make_plan()
    local report = assert(plan:apply { max_total = "20.00", state_dir = dir })
    assert.is_false(report.ok)
    -- a 500 to a purchase may have been carried out: unknown, not failed
    assert.are.same({ "done", "unknown", "skipped", "done", "skipped", "done", "done", "done" }, outcomes(report))
    assert.are.equal("unknown_outcome", report.actions[2].error.kind)
    assert.matches("an earlier action on it", report.actions[3].why)
    assert.matches("spending stopped", report.actions[5].why)
    assert.are.same({ done = 5, failed = 0, unknown = 1, skipped = 2, refused = 0 }, report.counts)
    assert.matches("applied in part", tostring(report))
    assert.are.same({}, sb:ledger()) -- the fault answered without buying
    assert.are.equal(1, #api_requests("POST", PURCHASE))
    assert.are.equal("scrapers", fetch(12345).tag)
    assert.is_true(fetch(12346).auto_renewal)
    assert.are.equal("on-hold", fetch(12346).status)
    assert.is_true(sandbox_ip(12347, "198.51.100.21").delete)
    assert.is_not_nil(sub_users()["team-c"])

    -- the journal holds the unknown purchase: settled by reading, as not done
    -- once it is older than `settle` (1 s: the journal counts whole seconds)
    local settled = shell.wait_for(function()
      local list = assert(client:settle { state_dir = dir, settle = 1 })
      assert.are.equal(1, #list)
      return list[1].state ~= "unknown" and list
    end, 10)
    assert(settled, "the unknown purchase was not settled")
    assert.are.equal("not_done", settled[1].state)
    assert.are.same({}, assert(client:pending { state_dir = dir }))

    -- a fresh plan has what is left; applying it buys each once
    local rest = make_plan()
    assert.are.same({ "buy_p0f order 12345", "set_signatures order 12345", "renew order 12346" }, kinds(rest.actions))
    assert.are.equal(950, rest.total.cents)
    local r2 = assert(rest:apply { max_total = "20.00", state_dir = dir })
    assert.is_true(r2.ok)
    local ledger = sb:ledger()
    assert.are.equal(2, #ledger)
    assert.are.equal("addon", ledger[1].kind)
    assert.are.equal(SLOTS, ledger[1].qty)
    assert.are.equal(90, ledger[1].amount_cents)
    assert.are.equal("renewal", ledger[2].kind)
    assert.are.equal(860, ledger[2].amount_cents)
    assert.are.equal("win11", signature_of(12345, "203.0.113.11"))
    assert.are.equal(0, make_plan():changes())
  end)

  it("rolls forward after a spend refused outright: run again, each spend lands once", function()
    sb:fault { path = PURCHASE, method = "POST", status = 400,
      body = '{"success":false,"message":"Add-on purchase refused"}', times = 1 }
    local report = assert(make_plan():apply { max_total = "20.00", state_dir = dir })
    assert.is_false(report.ok)
    assert.are.same({ "done", "failed", "skipped", "done", "skipped", "done", "done", "done" }, outcomes(report))
    assert.are.equal(1, #report.errors)
    assert.are.same({}, sb:ledger())

    local rest = make_plan()
    assert.are.same({ "buy_p0f order 12345", "set_signatures order 12345", "renew order 12346" }, kinds(rest.actions))
    assert.is_true(assert(rest:apply { max_total = "20.00", state_dir = dir }).ok)
    local ledger = sb:ledger()
    assert.are.equal(2, #ledger)
    assert.are.equal(90, ledger[1].amount_cents)
    assert.are.equal(860, ledger[2].amount_cents)
    -- and once more: nothing left to do, nothing bought
    assert.are.equal(0, #assert(make_plan():apply { max_total = "20.00", state_dir = dir }).actions)
    assert.are.equal(2, #sb:ledger())
  end)
end)
