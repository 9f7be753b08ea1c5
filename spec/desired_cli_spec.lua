-- `proxyshard plan` and `proxyshard apply` as a cron user runs them:
-- bin/proxyshard as processes against the sandbox, its ledger read after.
-- The exit statuses of plan (0/2/1), a saved plan refused once the account
-- changed (13), drift made by hand, two applies at once (the lock), and an
-- apply killed mid-spend and run again (each spend once on the ledger).
local cjson = require "cjson"
local shell = require "support.shell"
local sandbox_process = require "support.sandbox_process"
local command = require "support.command"

local q = shell.q
local PURCHASE = "/user/api/orders/12345/addons/purchase"
local RENEW = "/user/api/orders/12346/renew"

-- two spends (a p0f slot on 12345, the renewal of 12346, on hold since
-- 2026-10-15: due whatever the clock says) and free changes
local DESIRED = [[
return {
  orders = {
    { order = 12345, min_free_p0f = 2, signatures = { ["203.0.113.11"] = "win11" }, tag = "scrapers" },
    { order = 12346, renew_within_days = 3, auto_renewal = true },
  },
  residential = { premium = { sub_users = { { name = "reports", min_remaining_gb = 2 } } } },
}
]]

describe("proxyshard plan and apply", function()
  local sb, state, env, file

  setup(function()
    sb = sandbox_process.start()
  end)

  teardown(function()
    if sb then sb:stop() end
  end)

  before_each(function()
    sb:reset()
    state = shell.tmpdir("proxyshard-desired")
    file = state .. "/desired-state.lua"
    shell.write_file(file, DESIRED)
    env = ("env -i PATH=%s PROXYSHARD_TOKEN=sandbox-token PROXYSHARD_BASE_URL=%s PROXYSHARD_STATE_DIR=%s")
      :format(q(os.getenv("PATH")), q(sb.url), q(state .. "/state"))
  end)

  after_each(function()
    shell.sh("rm -rf " .. q(state))
  end)

  local function run(args) return command.run_in(env, args, state) end

  -- a run in the background, and its end (stdout, stderr, exit status)
  local function start(args, name) return command.start(env, args, state .. "/" .. name) end
  local finish = command.finish

  local function posted(path)
    return function()
      for _, r in ipairs(sb:requests()) do
        if r.method == "POST" and r.path == path then return true end
      end
    end
  end

  -- the ledger's charges by kind: { addon = n, renewal = n }
  local function charges()
    local n = {}
    for _, c in ipairs(sb:ledger()) do n[c.kind] = (n[c.kind] or 0) + 1 end
    return n
  end

  it("plan exits 2 with changes and their exact total, apply makes them true, the next plan exits 0", function()
    local out, err, code = run("--json plan " .. q(file))
    assert.are.equal(2, code, err)
    local plan = cjson.decode(out).result
    assert.are.equal(6, plan.changes)
    assert.are.equal(2, plan.spends)
    local kinds = {}
    for i, a in ipairs(plan.actions) do kinds[i] = a.kind end
    assert.are.same({ "set_tag", "buy_p0f", "set_signatures", "set_auto_renewal", "renew", "create_sub_user" }, kinds)
    assert.are.equal(30, plan.actions[2].price_cents) -- 1 slot × $0.30
    assert.is_true(plan.actions[5].estimate)

    out, err, code = run("apply " .. q(file) .. " --max-total 20 --yes")
    assert.are.equal(0, code, err)
    assert.matches("applied: 6 done, 0 failed, 0 unknown, 0 not done; spent %$", out)
    assert.are.same({ addon = 1, renewal = 1 }, charges())
    -- the plan's total is what the ledger took: the quote and the renewal's estimate
    assert.are.equal(plan.total_cents, sb:spent())

    out, err, code = run("plan " .. q(file))
    assert.are.equal(0, code, err)
    assert.matches("No changes", out)
  end)

  it("plan exits 1 on any error: a bad file, an unknown flag, an unknown key", function()
    local _, err, code = run("plan " .. q(state .. "/missing.lua"))
    assert.are.equal(1, code, err)
    assert.matches("cannot be read", err)
    _, err, code = run("plan " .. q(file) .. " --bogus")
    assert.are.equal(1, code, err)
    shell.write_file(file, "return { orders = { { order = 12345, min_free_pof = 2 } } }")
    _, err, code = run("plan " .. q(file))
    assert.are.equal(1, code, err)
    assert.matches('unknown key "min_free_pof" %(did you mean "min_free_p0f"%?%)', err)
    assert.are.equal(0, #sb:requests())
  end)

  it("apply with a cap below the total buys nothing above it", function()
    local out, err, code = run("--json apply " .. q(file) .. " --max-total 1.00 --yes")
    assert.are.equal(3, code, err) -- the renewal is refused: budget
    local report = cjson.decode(out).result.report
    assert.are.equal(1, report.failed)
    assert.are.same({ addon = 1 }, charges())
    assert.is_true(sb:spent() <= 100)
    assert.is_nil(posted(RENEW)())
  end)

  it("a saved plan is refused once the state changed by hand (13), and nothing is bought", function()
    local plan_file = state .. "/plan.json"
    local _, err, code = run("plan " .. q(file) .. " --out " .. q(plan_file))
    assert.are.equal(2, code, err)
    _, err, code = run("set-tag 12345 by-hand")
    assert.are.equal(0, code, err)
    local out
    out, err, code = run("apply " .. q(plan_file) .. " --max-total 20 --yes")
    assert.are.equal(13, code, err)
    assert.are.equal("", out) -- refused before it is shown
    out, err, code = run("--json apply " .. q(plan_file) .. " --max-total 20 --yes")
    assert.are.equal(13, code, err)
    assert.are.equal("stale", cjson.decode(out).error.kind)
    assert.matches("no longer fits the account", err)
    assert.are.equal(0, #sb:ledger())
    -- a plan saved and applied with nothing changed in between goes through
    _, err, code = run("plan " .. q(file) .. " --out " .. q(plan_file))
    assert.are.equal(2, code, err)
    _, err, code = run("apply " .. q(plan_file) .. " --max-total 20 --yes")
    assert.are.equal(0, code, err)
    assert.are.same({ addon = 1, renewal = 1 }, charges())
  end)

  it("drift made by hand is reported as drift, apart from the actions that undo it", function()
    local _, err, code = run("apply " .. q(file) .. " --max-total 20 --yes")
    assert.are.equal(0, code, err)
    _, err, code = run("set-auto-renewal 12346 false")
    assert.are.equal(0, code, err)
    local out
    out, err, code = run("plan " .. q(file))
    assert.are.equal(2, code, err)
    assert.matches("Changed outside proxyshard since the last apply:\n  ~ order 12346: auto_renewal true → false",
      out)
    assert.matches("Actions, in order:\n  1%. %+ turn auto%-renewal of order 12346 on — free", out)
    out = run("--json plan " .. q(file))
    local drift = cjson.decode(out).result.drift
    assert.are.same({ { target = "order 12346", field = "auto_renewal", was = true, now = false } }, drift)
  end)

  it("two applies at once: the second exits 11 naming the first; each spend once", function()
    sb:fault { path = PURCHASE, method = "POST", delay_ms = 1500, commit = true, times = 1 }
    local first = start("apply " .. q(file) .. " --max-total 20 --yes", "first")
    assert(shell.wait_for(posted(PURCHASE), 10), "the first apply never bought")
    local _, err, code = run("apply " .. q(file) .. " --max-total 20 --yes")
    assert.are.equal(11, code, err)
    assert.matches("another run is spending for this account: pid %d+ on [^ ]+ %(proxyshard apply%)", err)
    local _, ferr, fcode = finish(first)
    assert.are.equal(0, fcode, ferr)
    -- with --lock-wait the second waits, then finds nothing to do
    local out
    out, err, code = run("--lock-wait 20 apply " .. q(file) .. " --max-total 20 --yes")
    assert.are.equal(0, code, err)
    assert.matches("No changes", out)
    assert.are.same({ addon = 1, renewal = 1 }, charges())
  end)

  it("an apply killed with SIGKILL after its first spend was sent, run again: each spend once", function()
    sb:fault { path = PURCHASE, method = "POST", delay_ms = 2000, commit = true, times = 1 }
    local p = start("apply " .. q(file) .. " --max-total 20 --yes", "killed")
    assert(shell.wait_for(posted(PURCHASE), 10), "the apply never bought")
    assert(shell.sh(("pkill -KILL -P %d"):format(p.sh)), "no process to kill")
    finish(p)
    -- the journal has the spend, sent and not settled
    local journal = shell.run("cat " .. q(state) .. "/state/*.journal")
    assert.matches('"state":"sent"', journal)
    assert.matches('"operation":"addon:purchase"', journal)
    assert(shell.wait_for(function() return #sb:ledger() == 1 end, 10))
    local out, err, code = run("apply " .. q(file) .. " --max-total 20 --yes")
    assert.are.equal(0, code, err)
    assert.matches("an earlier spend %(addon:purchase addon=p0f_slots order=12345, sent [^)]+%): settled: the "
      .. "account shows it was done", err)
    -- the slot is not bought again; the rest is done
    assert.is_nil(out:find("buy 1 p0f slot", 1, true))
    assert.are.same({ addon = 1, renewal = 1 }, charges())
    out, err, code = run("plan " .. q(file))
    assert.are.equal(0, code, err .. out)
  end)

  it("apply --dry-run is plan: nothing is sent but reads", function()
    local out, err, code = run("apply " .. q(file) .. " --dry-run")
    assert.are.equal(0, code, err)
    assert.matches("dry run: nothing was done", out)
    -- as every spending command's --dry-run: dry_run at the top, the plan as the result
    out, err, code = run("--json apply " .. q(file) .. " --dry-run")
    assert.are.equal(0, code, err)
    local doc = cjson.decode(out)
    assert.is_true(doc.dry_run)
    assert.are.equal(6, doc.result.plan.changes)
    assert.is_nil(doc.result.dry_run)
    for _, r in ipairs(sb:requests()) do assert.are.equal("GET", r.method) end
  end)

  it("apply without --max-total when the plan spends: exit 2, nothing sent", function()
    local _, err, code = run("apply " .. q(file) .. " --yes")
    assert.are.equal(2, code, err)
    assert.matches("%-%-max%-total is needed: the plan spends about %$", err)
    for _, r in ipairs(sb:requests()) do assert.are.equal("GET", r.method) end
  end)
end)
