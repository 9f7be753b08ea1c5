-- The run lock inside nginx, across two workers: a real nginx (Debian's,
-- with libnginx-mod-http-lua; worker_processes 2; `lua_shared_dict
-- proxyshard_locks 1m;`) with the sandbox as its upstream, each request a
-- top-up of order 12345 under the lock — order:top_up_p0f(6, { max_total =
-- "5.00", lock = true, lock_wait = ?lock_wait }) with a client made for the
-- request, transport auto (spec/support/nginx/jobs_handlers.lua,
-- two_workers.conf.template). Order 12345 has 2 free p0f slots: a top-up
-- to 6 buys 4, 120 cents.
--
-- Two workers for sure: nginx listens with `reuseport` (a listening socket
-- per worker) and the spec opens kept-alive HTTP/1.1 connections, asking
-- each one's worker (GET /worker: ngx.worker.id()), until it has one
-- connection to worker 0 and one to worker 1; a kept-alive connection
-- stays on the worker that accepted it, so the two top-ups sent on those
-- run in the two workers (their answers say which, and the spec checks).
--
-- The sandbox holds the answers to the order's read (1 s) and to the first
-- purchase (1.5 s, charged before it waits), so the top-up that gets the
-- lock first holds it for 2.5 s at least, however slow the machine; the
-- other one, started within a second of it (checked), asks for the lock
-- meanwhile — whether the lock is taken before the read or only around
-- the purchase (then both read the order before either buys: both find 4
-- slots missing).
-- Installs nothing: scripts/setup.sh --tests installs nginx and its lua
-- module; the C module is built for LuaJIT by scripts/build-luajit.sh.
local cjson = require "cjson"
local harness = require "support.nginx.harness"
local sandbox_process = require "support.sandbox_process"

local ORDER = "/user/api/orders/12345"
local PURCHASE = ORDER .. "/addons/purchase"
local TEMPLATE = "spec/support/nginx/two_workers.conf.template"
local READ_HOLD_MS = 1000 -- the order's read answered this late (the first two reads)
local PURCHASE_HOLD_MS = 1500 -- the first purchase's answer (charged first) held this long

describe("inside a real nginx with two workers: the run lock (lua_shared_dict proxyshard_locks)", function()
  local missing = harness.missing()
  if not missing then
    local built, why = harness.build_luajit()
    if not built then missing = why end
  end
  if missing then
    pending("skipped: " .. missing)
    return
  end

  local sb, nx
  local conns = {} -- [1], [2]: a kept-alive connection to each worker

  setup(function()
    sb = sandbox_process.start()
    local ok, n = pcall(harness.start_nginx, harness.template(TEMPLATE, {
      SANDBOX_PORT = sb.url:match(":(%d+)$"), RESTY_PATH = harness.resty_path() or "" }))
    if not ok then
      sb:stop()
      error(n, 0)
    end
    nx = n
  end)

  teardown(function()
    if nx then harness.stop_nginx(nx) end
    if sb then sb:stop() end
  end)

  -- An answer read from `c`: its decoded JSON (200 expected).
  local function decoded(c, what)
    local status, body = c:receive()
    if status ~= 200 then
      error(("%s: %s %s\n-- nginx error.log:\n%s"):format(what, tostring(status), tostring(body),
        harness.error_log(nx)), 2)
    end
    return cjson.decode(body)
  end

  -- Kept-alive connections until one to each worker: { [1] = conn, [2] = conn },
  -- each with .worker (id) and .pid.
  local function one_per_worker()
    local by_worker, spare = {}, {}
    for _ = 1, 64 do
      local c = assert(harness.connect(nx.port))
      assert(c:send("/worker"))
      local w = decoded(c, "GET /worker")
      if by_worker[w.worker] then
        spare[#spare + 1] = c
      else
        c.worker, c.pid = w.worker, w.pid
        by_worker[w.worker] = c
      end
      if by_worker[0] and by_worker[1] then break end
    end
    for _, c in ipairs(spare) do c:close() end
    assert(by_worker[0] and by_worker[1], "64 connections, and all of them on one worker")
    return { by_worker[0], by_worker[1] }
  end

  before_each(function()
    sb:reset()
    conns = one_per_worker()
  end)

  after_each(function()
    for _, c in ipairs(conns) do c:close() end
  end)

  local function seen(method, path)
    local out = {}
    for _, r in ipairs(sb:requests()) do
      if r.method == method and r.path == path then out[#out + 1] = r end
    end
    return out
  end

  -- The two top-ups, sent at once, one on each worker's connection: their
  -- answers, each checked to come from the worker its connection is on.
  local function both(lock_wait)
    sb:fault { method = "GET", path = ORDER, delay_ms = READ_HOLD_MS, times = 2 }
    sb:fault { method = "POST", path = PURCHASE, delay_ms = PURCHASE_HOLD_MS, commit = true, times = 1 }
    local path = "/top_up?lock_wait=" .. lock_wait
    for _, c in ipairs(conns) do assert(c:send(path)) end
    local out = {}
    for i, c in ipairs(conns) do
      out[i] = decoded(c, "GET " .. path .. " on worker " .. c.worker)
      assert.are.equal(c.worker, out[i].worker)
      assert.are.equal(c.pid, out[i].pid)
    end
    assert.are_not.equal(out[1].pid, out[2].pid)
    -- together: the one that took the lock first held it until READ_HOLD_MS
    -- + PURCHASE_HOLD_MS at least after it began, and the other began
    -- within READ_HOLD_MS of it (ngx.now: the same clock in both workers);
    -- otherwise this run proves nothing about the lock
    assert.is_true(math.abs(out[1].started - out[2].started) < READ_HOLD_MS / 1000,
      ("the two top-ups began %.3f s apart"):format(math.abs(out[1].started - out[2].started)))
    local function said(r) return r.ok and ("bought %g"):format(r.bought) or tostring(r.kind) end
    print(("# %s, lock_wait %s: worker %d %s, worker %d %s"):format(out[1].transport, lock_wait, out[1].worker,
      said(out[1]), out[2].worker, said(out[2])))
    return out
  end

  -- The top-up that bought (`first`) and the other one (`second`).
  local function first_and_second(out)
    local first, second = out[1], out[2]
    if not (first.ok and first.bought == 4) then first, second = second, first end
    assert.is_true(first.ok, first.text)
    assert.are.equal(4, first.bought)
    assert.are.same({ 2, 6 }, { first.free_before, first.free_after })
    return first, second
  end

  -- One charge: the 4 missing slots at $0.30.
  local function one_charge()
    local ledger = sb:ledger()
    assert.are.equal(1, #ledger, cjson.encode(ledger))
    assert.are.equal(120, ledger[1].amount_cents)
    assert.are.equal(1, #seen("POST", PURCHASE))
  end

  it("lock_wait 0: the second worker's top-up is `locked`, naming the first's worker; one charge", function()
    local first, second = first_and_second(both(0))
    assert.is_false(second.ok)
    assert.are.equal("locked", second.kind, second.text)
    assert.matches(("^another run is spending for this account: pid %d on [^ ]+ %%(proxyshard %%(the library%%)%%), "
      .. "since %%d+%%-%%d+%%-%%d+T[%%d:]+Z; nothing was sent %%(the lock: lua_shared_dict proxyshard_locks%%)$")
      :format(first.pid), second.message)
    assert.are.equal(first.pid, second.holder.pid)
    one_charge()
    -- let go when the first was done, not at the dict's expiry: a top-up now
    -- takes it at once, and finds nothing missing
    for _, c in ipairs(conns) do
      assert(c:send("/top_up?lock_wait=0"))
      local again = decoded(c, "GET /top_up on worker " .. c.worker)
      assert.is_true(again.ok, again.text)
      assert.are.equal(0, again.bought)
    end
    one_charge()
  end)

  it("lock_wait 10: the second waits for the first, then finds the slots there and buys nothing", function()
    local first, second = first_and_second(both(10))
    assert.is_true(second.ok, second.text)
    assert.are.equal(0, second.bought, ("the second top-up bought %s slots more after it waited (it found %s free: "
      .. "read before the first's purchase); the ledger: %s"):format(tostring(second.bought),
      tostring(second.free_before), cjson.encode(sb:ledger())))
    assert.are.equal(6, second.free_after)
    -- it waited: it ended after the first's purchase was answered, which was
    -- READ_HOLD_MS + PURCHASE_HOLD_MS at least after the first began (ngx.now
    -- counts milliseconds: hence the 0.01)
    local after = second.ended - first.started
    assert.is_true(after >= (READ_HOLD_MS + PURCHASE_HOLD_MS) / 1000 - 0.01,
      ("the second ended %.3f s after the first began"):format(after))
    assert.is_nil(second.kind)
    one_charge()
  end)

end)
