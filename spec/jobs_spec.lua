-- Jobs that spend, as a user runs them: bin/proxyshard as processes against
-- the sandbox, its ledger read after. One run per order (canonical ids,
-- one spend at a time), runs that never overlap (the flock lock), and
-- spends that a crash or an interrupt cannot lose (the journal).
local cjson = require "cjson"
local shell = require "support.shell"
local sandbox_process = require "support.sandbox_process"
local command = require "support.command"

local q = shell.q
local PURCHASE = "/user/api/orders/12345/addons/purchase"

describe("jobs that spend", function()
  local sb, state, env

  setup(function()
    sb = sandbox_process.start()
  end)

  teardown(function()
    if sb then sb:stop() end
  end)

  before_each(function()
    sb:reset()
    state = shell.tmpdir("proxyshard-jobs")
    env = ("env -i PATH=%s PROXYSHARD_TOKEN=sandbox-token PROXYSHARD_BASE_URL=%s PROXYSHARD_STATE_DIR=%s")
      :format(q(os.getenv("PATH")), q(sb.url), q(state))
  end)

  after_each(function()
    shell.sh("rm -rf " .. q(state))
  end)

  -- one run, to its end: stdout, stderr, exit status
  local function run(args) return command.run_in(env, args, state) end

  -- a run in the background, and its end (stdout, stderr, exit status)
  local function start(args, name) return command.start(env, args, state .. "/" .. name) end
  local finish = command.finish

  local function signal(p, sig)
    assert(shell.sh(("pkill -%s -P %d"):format(sig, p.sh)), "no process to signal")
  end

  local function posted()
    for _, r in ipairs(sb:requests()) do
      if r.method == "POST" and r.path == PURCHASE then return true end
    end
  end

  local function journal_lines()
    local out = {}
    for path in shell.run("ls " .. q(state) .. "/*.journal 2>/dev/null"):gmatch("[^\n]+") do
      for line in (shell.read_file(path) or ""):gmatch("[^\n]+") do out[#out + 1] = cjson.decode(line) end
    end
    return out
  end

  -- the sandbox holds the purchase's answer for `ms` (it is charged at once)
  local function hold_answer(ms)
    sb:fault { path = PURCHASE, method = "POST", delay_ms = ms, commit = true, times = 1 }
  end

  -- a top-up of 12345 in the background, its purchase sent and its answer
  -- held by the sandbox for `ms`: the run holds the account's lock meanwhile
  local TOP_UP = "top-up --free 6 --max-total 5.00 --yes 12345"
  local function buying(ms, name)
    hold_answer(ms)
    local p = start(TOP_UP, name or "first")
    assert(shell.wait_for(posted, 10), "the run never bought")
    return p
  end

  it("two top-ups started together: the second exits 11 naming the first; the slots are bought once", function()
    local first = buying(1500)
    local _, err, code = run(TOP_UP)
    assert.are.equal(11, code, err)
    assert.matches("another run is spending for this account: pid %d+ on [^ ]+ %(proxyshard top%-up%), since ", err)
    local _, ferr, fcode = finish(first)
    assert.are.equal(0, fcode, ferr)
    assert.are.equal(1, #sb:ledger())
    assert.are.equal(120, sb:spent()) -- 4 missing slots, once
  end)

  it("a second run with --lock-wait waits for the first, then finds the slots there and buys nothing", function()
    local first = buying(1000)
    local out, err, code = run("--lock-wait 20 --json top-up --free 6 --max-total 5.00 --yes 12345")
    assert.are.equal(0, code, err)
    assert.are.equal(0, cjson.decode(out).result.bought)
    assert.are.equal(0, select(3, finish(first)))
    assert.are.equal(1, #sb:ledger())
  end)

  it("reads never take the lock", function()
    local first = buying(1500)
    local _, err, code = run("order 12345")
    assert.are.equal(0, code, err)
    _, err, code = run("top-up --free 6 --max-total 5.00 --dry-run 12345")
    assert.are.equal(0, code, err)
    finish(first)
  end)

  for _, sig in ipairs { "INT", "KILL" } do
    it("a top-up killed with SIG" .. sig .. " while its purchase is in flight: the next run settles it, "
        .. "one charge", function()
      local p = buying(2000, "killed")
      signal(p, sig)
      local _, err, code = finish(p)
      if sig == "INT" then
        assert.are.equal(4, code, err)
        assert.matches("interrupted: the purchase may have been made; run `proxyshard pending %-%-settle`", err)
        assert.is_nil(err:find("traceback", 1, true))
      end
      -- on disk before it was sent, and not settled
      local lines = journal_lines()
      assert.are.equal("sent", lines[1].state)
      assert.are.equal("addon:purchase", lines[1].operation)
      assert.are.equal(4, lines[1].values.add_qty)
      local pending = run("--json pending")
      assert.are.equal(1, #cjson.decode(pending).result)
      -- the answer lands; the next run settles the entry, then finds nothing missing
      assert(shell.wait_for(function() return #sb:ledger() == 1 end, 10))
      local out
      out, err, code = run("--json top-up --free 6 --max-total 5.00 --yes 12345")
      assert.are.equal(0, code, err)
      assert.matches("an earlier spend %(addon:purchase addon=p0f_slots order=12345, sent [^)]+%): settled: the "
        .. "account shows it was done, charged %$1%.20", err)
      assert.are.equal(0, cjson.decode(out).result.bought)
      assert.are.equal(1, #sb:ledger())
      assert.are.equal(120, sb:spent())
      local none = run("--json pending")
      assert.matches('"result":%[%]', none) -- a list, also when empty
      assert.are.equal(0, #cjson.decode(none).result)
    end)
  end

  for _, case in ipairs { { "INT", 130, "SIGINT" }, { "TERM", 143, "SIGTERM" } } do
    it("SIG" .. case[1] .. " outside a spend: exit " .. case[2] .. ", one line, no traceback", function()
      sb:fault { path = "/user/api/orders/12345", method = "GET", delay_ms = 3000, times = 1 }
      local p = start("order 12345", "read")
      assert(shell.wait_for(function() return #sb:requests() > 0 end, 10), "the read never started")
      signal(p, case[1])
      local out, err, code = finish(p)
      assert.are.equal(case[2], code, err)
      assert.are.equal("", out)
      -- the read's own error line (interrupted), then the command's
      local last = err:gsub("^proxyshard [%w_]+ error:[^\n]*\n", "")
      assert.are.equal("proxyshard: interrupted (" .. case[3] .. ")\n", last)
      assert.is_nil(err:find("traceback", 1, true))
    end)
  end

  it("reports a journal line torn by a crash and still reads the rest", function()
    local _, err, code = run("purchase 12345 p0f_slots 1 --yes")
    assert.are.equal(0, code, err)
    local path = shell.run("ls " .. q(state) .. "/*.journal"):gsub("%s+$", "")
    local f = assert(io.open(path, "a"))
    f:write('{"id":"0123456789abcdef","state":"sent","operation":"addon:purch') -- cut short, no newline
    f:close()
    local out
    out, err, code = run("pending")
    assert.are.equal(0, code, err)
    assert.matches("the journal's line 3 cannot be read %(torn by a crash%?%), skipped", err)
    assert.matches("nothing pending", out)
    _, err, code = run("purchase 12345 p0f_slots 1 --yes")
    assert.are.equal(0, code, err)
    assert.are.equal(2, #sb:ledger())
  end)

  it("never puts the token in the journal or the lock file", function()
    local _, err, code = run("purchase 12345 p0f_slots 1 --yes")
    assert.are.equal(0, code, err)
    local all = shell.run("cat " .. q(state) .. "/*")
    assert.is_true(#all > 100)
    assert.is_nil(all:find("sandbox-token", 1, true))
  end)
end)

describe("the library's lock and journal", function()
  local proxyshard = require "proxyshard"
  local jobs_state = require "proxyshard.jobs.state"
  local sb, state

  setup(function() sb = sandbox_process.start() end)
  teardown(function() if sb then sb:stop() end end)
  before_each(function()
    sb:reset()
    state = shell.tmpdir("proxyshard-jobs-lib")
  end)
  after_each(function() shell.sh("rm -rf " .. q(state)) end)

  local function client(opts)
    opts = opts or {}
    opts.token, opts.base_url, opts.state_dir = "sandbox-token", sb.url, state
    return proxyshard.new(opts)
  end

  it("lock = true: a spend while another process holds the account's lock is `locked`, nothing sent", function()
    local c = client { lock = true }
    local path = jobs_state.path(state, c, "lock")
    -- util-linux's flock(1) takes the same flock(2) lock
    -- held until the spec says so (not for a time a slow machine could outlast)
    local release = path .. ".release"
    shell.sh(("flock %s sh -c 'while [ ! -e %s ]; do sleep 0.05; done' >/dev/null 2>&1 &"):format(q(path),
      q(release)))
    assert(shell.wait_for(function() return not shell.sh(("flock -n %s true"):format(q(path))) end, 5))
    local receipt, err = c:order(12345):addon("p0f_slots"):purchase(1)
    assert.is_nil(receipt)
    assert.are.equal("locked", err.kind)
    assert.matches("another run is spending for this account", err.message)
    assert.are.same({}, sb:requests())
    -- per call, with a wait: it gets the lock once the holder is gone (let
    -- go half a second from now, most likely while the call waits)
    shell.sh(("(sleep 0.5; touch %s) >/dev/null 2>&1 &"):format(q(release)))
    receipt, err = client():order(12345):addon("p0f_slots"):purchase(1, { lock = true, lock_wait = 10 })
    assert.is_nil(err)
    assert.are.equal(30, receipt.charged.cents)
  end)

  it("refuses bad lock and journal options before anything is sent", function()
    assert.has_error(function() client { lock = 5 } end)
    local _, err = client():order(12345):addon("p0f_slots"):purchase(1, { lock_wait = -1 })
    assert.are.equal("invalid_argument", err.kind)
    assert.are.equal("lock_wait", err.argument)
    _, err = client():order(12345):addon("p0f_slots"):purchase(1, { journal = 7 })
    assert.are.equal("journal", err.argument)
    assert.are.same({}, sb:requests())
  end)

  it("journal = true: a lost answer stays pending; client:settle() finds it done; nothing is sent twice", function()
    local c = client { journal = true }
    sb:fault { path = PURCHASE, method = "POST", action = "drop", commit = true, times = 1 }
    local receipt, err = c:order(12345):addon("p0f_slots"):purchase(2)
    assert.is_nil(receipt)
    assert.are.equal("unknown_outcome", err.kind)
    local pending = assert(c:pending())
    assert.are.equal(1, #pending)
    assert.are.equal("unknown", pending[1].state)
    assert.are.same({ order = 12345, addon = "p0f_slots" }, pending[1].bound)
    local report = assert(c:settle())
    assert.are.equal(1, #report)
    assert.are.equal("done", report[1].state)
    assert.are.equal(60, report[1].charged.cents)
    assert.are.same({}, (c:pending()))
    assert.are.equal(1, #sb:ledger())
  end)

  it("keeps the journal bounded: settled entries are compacted away, unsettled ones kept", function()
    local journal = require "proxyshard.jobs.journal"
    local c = client()
    local j = journal.open(jobs_state.path(state, c, "journal"))
    local keep = assert(j:sent { operation = "order:renew", bound = { order = 12346 } })
    for _ = 1, 4 do
      local id = assert(j:sent { operation = "addon:purchase", bound = { order = 12345, addon = "p0f_slots" } })
      assert(j:ended(id, "done", require("proxyshard.money").cents(30)))
    end
    local at = journal.COMPACT_AT
    journal.COMPACT_AT = 10
    assert(j:compact()) -- 4 settled: below the bound, left as it is
    assert.are.equal(9, tonumber((shell.run("wc -l < " .. q(j.path))))) -- 1 + 4 × 2 lines
    journal.COMPACT_AT = 2
    assert(j:compact())
    journal.COMPACT_AT = at
    local entries, bad = j:read()
    assert.are.same({}, bad)
    assert.are.equal(1, #entries)
    assert.are.equal(keep, entries[1].id)
    assert.are.equal("sent", entries[1].state)
    assert.are.equal(12346, entries[1].bound.order)
  end)

  it("journal = true: a spend of the same thing whose earlier one is still unknown is refused", function()
    local c = client { journal = true }
    -- an entry that cannot be told: nothing was read before it (a journal of an older version)
    local j = require("proxyshard.jobs.journal").open(jobs_state.path(state, c, "journal"))
    assert(j:sent { operation = "addon:purchase", bound = { order = 12345, addon = "p0f_slots" },
      values = { order_id = 12345, addon_key = "p0f_slots", add_qty = 2 } })
    local receipt, err = c:order(12345):addon("p0f_slots"):purchase(2)
    assert.is_nil(receipt)
    assert.are.equal("unknown_outcome", err.kind)
    assert.is_false(err.request_sent)
    assert.matches("settle it first", err.message)
    assert.are.equal(0, #sb:ledger())
    -- another order is not held up by it
    assert(c:order(12347):addon("p0f_slots"):purchase(1))
  end)
end)
