-- Many requests at once, over real HTTP on 127.0.0.1:
--   * proxyshard.core's multi (csrc/multi.c) against
--     spec/support/raw_http_server.lua: the shapes session:perform returns,
--     the no-resend rules, header filtering, cancel, lifecycle;
--   * client:map (proxyshard.flows.map) against the sandbox
--     (spec/support/sandbox_process.lua): order of results, errors per
--     item, a purchase among quotes, a dropped answer with exactly one
--     charge, retry waits and deadlines that hold only their own item, at
--     most `concurrency` connections;
--   * examples/map_topup.lua, run as written against the sandbox.
-- No timing is an upper bound of the clock (valgrind and ASan run these
-- specs many times slower): "concurrent, not one after another" is shown
-- by the order things end in, what the servers saw, or an answer that
-- would have come, a long delay later, without the feature.
local core = require "proxyshard.core"
local cjson = require "cjson"
local socket = require "socket"
local proxyshard = require "proxyshard"
local sandbox_process = require "support.sandbox_process"
local shell = require "support.shell"

local SERVER = "spec/support/raw_http_server.lua"
local TOKEN = "sandbox-token"
local ORDER = "/user/api/orders/12345"
local CALCULATE = ORDER .. "/addons/calculate"
local PURCHASE = ORDER .. "/addons/purchase"

-- CURLcode values asserted below.
local CURLE_COULDNT_CONNECT = 7
local CURLE_GOT_NOTHING = 52
local CURLE_SEND_FAIL_REWIND = 65

local now = socket.gettime

-- Starts the raw test server; returns { port, pid, pipe }.
local function start_server()
  return shell.start(("lua5.4 %s --lifetime 120"):format(SERVER))
end

local stop_server = shell.stop

-- Every result of `m` until `n` have come back (each wait at most 5 s),
-- by id. Each transfer ends by its own timeout at the latest: one that
-- is no longer running and never came back was lost.
local function collect(m, n)
  local got, count = {}, 0
  while count < n do
    assert(m:running() > 0, "the multi runs nothing, and " .. (n - count) .. " never came back")
    for _, d in ipairs(m:wait(5)) do
      assert.is_nil(got[d.id], "an id came back twice")
      got[d.id] = d
      count = count + 1
    end
  end
  return got
end

describe("proxyshard.core multi", function()
  local srv, base

  lazy_setup(function()
    srv = start_server()
    base = "http://127.0.0.1:" .. srv.port
  end)

  lazy_teardown(function() stop_server(srv) end)

  local function count(path)
    local s = core.session { timeout_ms = 5000 }
    local res = assert(s:perform { method = "GET", url = base .. "/count?path=" .. path })
    s:close()
    return cjson.decode(res.body).count
  end

  it("runs several requests and returns what session:perform returns, by id", function()
    local m = core.multi { timeout_ms = 5000 }
    local ids = {}
    for i = 1, 4 do
      ids[i] = assert(m:start { method = "GET", url = base .. "/echo?i=" .. i })
    end
    local post = assert(m:start { method = "POST", url = base .. "/echo", body = '{"a":1}', no_resend = true,
      headers = { "Content-Type: application/json" } })
    assert.equal(5, m:running())
    local got = collect(m, 5)
    assert.equal(0, m:running())
    for i = 1, 4 do
      local res = got[ids[i]].res
      assert.is_nil(got[ids[i]].terr)
      assert.equal(200, res.status)
      assert.equal("/echo?i=" .. i, cjson.decode(res.body).target)
      assert.equal("application/json", res.headers["content-type"])
      assert.equal(tostring(#res.body), res.headers["content-length"])
      assert.is_boolean(res.reused)
      assert.is_number(res.total_time)
    end
    local seen = cjson.decode(got[post].res.body)
    assert.equal("POST", seen.method)
    assert.equal('{"a":1}', seen.body)
    assert.equal("7", seen.headers["content-length"])
    assert.is_nil(seen.headers.expect)
    m:close()
  end)

  it("keeps its connections for the next requests, at most max_host_connections of them", function()
    local m = core.multi { timeout_ms = 5000, max_host_connections = 2 }
    local conns, reused = {}, 0
    for _ = 1, 3 do
      for _ = 1, 4 do assert(m:start { method = "GET", url = base .. "/echo" }) end
      for _, d in pairs(collect(m, 4)) do
        conns[cjson.decode(d.res.body).conn] = true
        if d.res.reused then reused = reused + 1 end
      end
    end
    local n = 0
    for _ in pairs(conns) do n = n + 1 end
    assert.is_true(n >= 1 and n <= 2, n .. " connections")
    assert.is_true(reused >= 10, reused .. " reused")
    m:close()
  end)

  it("no_resend POST on a reused connection that dies: error 65, the server saw it once", function()
    local m = core.multi { timeout_ms = 5000, max_host_connections = 1 }
    m:start { method = "GET", url = base .. "/echo" }
    collect(m, 1)
    local path = "/drop-after-read/multi-no-resend"
    local id = m:start { method = "POST", url = base .. path, body = '{"buy":1}', no_resend = true }
    local d = collect(m, 1)[id]
    assert.is_nil(d.res)
    assert.equal("network", d.terr.kind)
    assert.equal(CURLE_SEND_FAIL_REWIND, d.terr.code)
    assert.is_true(d.terr.request_sent)
    assert.equal(1, count(path))
    m:close()
  end)

  it("evidence: without no_resend libcurl's multi sends the same POST twice", function()
    local m = core.multi { timeout_ms = 5000, max_host_connections = 1 }
    m:start { method = "GET", url = base .. "/echo" }
    collect(m, 1)
    local path = "/drop-after-read/multi-resend"
    local id = m:start { method = "POST", url = base .. path, body = '{"buy":1}' }
    local d = collect(m, 1)[id]
    assert.equal(CURLE_GOT_NOTHING, d.terr.code)
    assert.equal(2, count(path))
    m:close()
  end)

  it("no_resend with no body goes over a fresh connection, and is not resent", function()
    local m = core.multi { timeout_ms = 5000, max_host_connections = 1 }
    local first = m:start { method = "GET", url = base .. "/echo" }
    local conn = cjson.decode(collect(m, 1)[first].res.body).conn
    local id = m:start { method = "POST", url = base .. "/echo", no_resend = true }
    local res = collect(m, 1)[id].res
    assert.is_false(res.reused)
    assert.are_not.equal(conn, cjson.decode(res.body).conn)
    local path = "/drop-after-read/multi-empty"
    id = m:start { method = "POST", url = base .. path, no_resend = true }
    assert.equal(CURLE_GOT_NOTHING, collect(m, 1)[id].terr.code)
    assert.equal(1, count(path))
    m:close()
  end)

  it("returns only the response headers asked for (any case), all by default", function()
    for _, make in ipairs { core.multi, core.session } do
      local s = make { timeout_ms = 5000 }
      local function run(req)
        if make == core.session then return assert(s:perform(req)) end
        local id = s:start(req)
        return collect(s, 1)[id].res
      end
      local req = { method = "GET", url = base .. "/headers", response_headers = { "X-Folded", "x-dup", "nope" } }
      local res = run(req)
      assert.same({ ["x-folded"] = "first second", ["x-dup"] = "one, two" }, res.headers)
      assert.equal("ok", res.body)
      req.response_headers = {}
      res = run(req)
      assert.same({}, res.headers)
      req.response_headers = nil
      res = run(req)
      assert.equal("a=1, b=2", res.headers["set-cookie"])
      s:close()
    end
  end)

  it("takes the session's or multi's response_headers as the default of every request's", function()
    for _, make in ipairs { core.multi, core.session } do
      local s = make { timeout_ms = 5000, response_headers = { "X-DUP" } }
      local function run(req)
        if make == core.session then return assert(s:perform(req)) end
        local id = s:start(req)
        return collect(s, 1)[id].res
      end
      local res = run { method = "GET", url = base .. "/headers" }
      assert.same({ ["x-dup"] = "one, two" }, res.headers)
      -- a request's own list wins
      res = run { method = "GET", url = base .. "/headers", response_headers = { "x-folded" } }
      assert.same({ ["x-folded"] = "first second" }, res.headers)
      s:close()
    end
    assert.has_error(function() core.session { response_headers = "x" } end)
    assert.has_error(function() core.multi { response_headers = { "a:b" } } end)
    assert.has_error(function() core.session { response_headers = { 1 } } end)
  end)

  it("bounds the headers it reads whether it keeps them or not", function()
    local m = core.multi { timeout_ms = 5000 }
    local id = m:start { method = "GET", url = base .. "/many-headers?n=3000", response_headers = { "x-h1" } }
    local d = collect(m, 1)[id]
    assert.equal("too_large", d.terr.kind)
    assert.matches("headers", d.terr.message)
    m:close()
  end)

  it("bounds the body: too_large, and the handle serves the next request", function()
    local m = core.multi { timeout_ms = 5000, max_response_bytes = 1000 }
    local big = m:start { method = "GET", url = base .. "/big?bytes=5000&chunked=1" }
    local exact = m:start { method = "GET", url = base .. "/big?bytes=1000" }
    local got = collect(m, 2)
    assert.equal("too_large", got[big].terr.kind)
    assert.is_true(got[big].terr.request_sent)
    assert.equal(1000, #got[exact].res.body)
    m:close()
  end)

  it("connection refused: network, request_sent false; a timeout: timeout", function()
    local probe = assert(socket.bind("127.0.0.1", 0))
    local _, port = probe:getsockname()
    probe:close()
    local m = core.multi { timeout_ms = 5000 }
    local refused = m:start { method = "POST", url = "http://127.0.0.1:" .. port .. "/x", body = "{}",
      no_resend = true }
    local slow = m:start { method = "GET", url = base .. "/slow?ms=1000", timeout_ms = 200 }
    local got = collect(m, 2)
    assert.equal("network", got[refused].terr.kind)
    assert.equal(CURLE_COULDNT_CONNECT, got[refused].terr.code)
    assert.is_false(got[refused].terr.request_sent)
    assert.equal("timeout", got[slow].terr.kind)
    assert.is_true(got[slow].terr.request_sent)
    m:close()
  end)

  it("wait(0) does not wait; wait(s) waits s, not for a transfer to end", function()
    -- a listening socket nobody accepts on: the request goes out, no answer
    -- ever comes, and the transfer ends only with its own timeout, 20 s away
    local hole = assert(socket.bind("127.0.0.1", 0))
    local _, port = hole:getsockname()
    local m = core.multi { timeout_ms = 20000 }
    local id = assert(m:start { method = "GET", url = "http://127.0.0.1:" .. port .. "/never" })
    -- empty, the transfer still running: neither wait waited for it to end
    assert.same({}, m:wait(0))
    assert.equal(1, m:running())
    local t0 = now()
    assert.same({}, m:wait(0.2))
    local took = now() - t0
    assert.is_true(took >= 0.19, took)
    assert.equal(1, m:running())
    assert.is_true(m:cancel(id))
    hole:close()
    -- with nothing running it waits s all the same
    t0 = now()
    assert.same({}, m:wait(0.2))
    took = now() - t0
    assert.is_true(took >= 0.19, took)
    m:close()
  end)

  it("cancels a transfer under way: it never comes back, and the handle is reused", function()
    local m = core.multi { timeout_ms = 5000 }
    -- answered a second after it arrives: far more than the 0.05 s the
    -- transfer is given to get under way, even on a slow machine
    local id = assert(m:start { method = "GET", url = base .. "/slow?ms=1000" })
    assert.same({}, m:wait(0.05))
    assert.is_true(m:cancel(id))
    assert.is_false(m:cancel(id))
    assert.equal(0, m:running())
    -- past the time its answer would have come
    assert.same({}, m:wait(1.1))
    local next_id = assert(m:start { method = "GET", url = base .. "/echo" })
    assert.are_not.equal(id, next_id)
    assert.equal(200, collect(m, 1)[next_id].res.status)
    m:close()
  end)

  describe("programmer errors raise, and leave the multi usable", function()
    local bad = {
      { "req not a table", nil },
      { "unknown method", { method = "HEAD", url = "http://127.0.0.1/" } },
      { "missing url", { method = "GET" } },
      { "header with CR/LF", { method = "GET", url = "http://127.0.0.1/", headers = { "X-A: 1\r\nX-B: 2" } } },
      { "GET with a body", { method = "GET", url = "http://127.0.0.1/", body = "x" } },
      { "timeout_ms of 0", { method = "GET", url = "http://127.0.0.1/", timeout_ms = 0 } },
      { "response_headers not a table", { method = "GET", url = "http://127.0.0.1/", response_headers = "x" } },
      { "a response header name with a colon", { method = "GET", url = "http://127.0.0.1/",
        response_headers = { "a:b" } } },
    }
    for _, b in ipairs(bad) do
      it(b[1], function()
        local m = core.multi()
        assert.has_error(function() m:start(b[2]) end)
        assert.equal(0, m:running())
        local id = m:start { method = "GET", url = base .. "/echo" }
        assert.equal(200, collect(m, 1)[id].res.status)
        m:close()
      end)
    end

    it("bad options and arguments", function()
      assert.has_error(function() core.multi { max_host_connections = 0 } end)
      assert.has_error(function() core.multi { max_host_connections = 1.5 } end)
      assert.has_error(function() core.multi { max_host_connections = "2" } end)
      assert.has_error(function() core.multi { timeout_ms = 0 } end)
      assert.has_error(function() core.multi { proxy = "http://x\r\nX: 1" } end)
      assert.has_error(function() core.multi "opts" end)
      local m = core.multi()
      assert.has_error(function() m:wait(-1) end)
      assert.has_error(function() m:wait(3601) end)
      assert.has_error(function() m:cancel("x") end)
      m:close()
    end)
  end)

  describe("lifecycle", function()
    it("tostring; close is idempotent, also with transfers under way; a closed multi raises", function()
      local m = core.multi()
      assert.equal("proxyshard.core.multi (open, 0 running)", tostring(m))
      m:start { method = "GET", url = base .. "/slow?ms=200" }
      m:start { method = "GET", url = base .. "/echo" }
      assert.equal("proxyshard.core.multi (open, 2 running)", tostring(m))
      m:wait(0)
      m:close()
      assert.equal("proxyshard.core.multi (closed)", tostring(m))
      assert.has_no_error(function() m:close() end)
      assert.has_error_match(function() m:start { method = "GET", url = base .. "/echo" } end, "multi is closed")
      assert.has_error_match(function() m:wait(0) end, "multi is closed")
      assert.equal(0, m:running())
    end)

    it("the garbage collector closes forgotten multis, finished or not", function()
      for i = 1, 4 do
        local m = core.multi()
        m:start { method = "GET", url = base .. "/echo" }
        if i % 2 == 0 then collect(m, 1) else m:wait(0) end
      end
      collectgarbage()
      collectgarbage()
    end)

    it("methods refuse other userdata", function()
      local mt = getmetatable(core.multi())
      assert.has_error(function() mt.__index.start(io.stdout, {}) end)
      assert.has_error(function() mt.__index.close(io.stdout) end)
      assert.has_error(function() mt.__index.wait(core.session(), 0) end)
    end)

    if _VERSION == "Lua 5.4" then
      it("supports <close>", function()
        local chunk = assert(load([[
          local core = ...
          local m <close> = core.multi {}
          return m
        ]]))
        assert.equal("proxyshard.core.multi (closed)", tostring(chunk(core)))
      end)
    end
  end)
end)

describe("proxyshard.core multi over HTTPS (nginx)", function()
  local server, why

  setup(function()
    server, why = require("support.tls_nginx").start()
  end)

  teardown(function() if server then server.stop() end end)

  -- n GETs of `url` through one multi; the protocols and connections
  -- the server saw, and the most requests it had under way at once.
  local function run(url, n, max)
    local m = core.multi { max_host_connections = max, ca_file = server.ca_file, timeout_ms = 10000 }
    for _ = 1, n do assert(m:start { method = "GET", url = url .. "/?ms=300" }) end
    local conns, protocols, count, most = {}, {}, 0, 0
    for _, d in pairs(collect(m, n)) do
      assert.is_nil(d.terr, d.terr and d.terr.message)
      local seen = cjson.decode(d.res.body)
      if not conns[seen.conn] then count = count + 1 end
      conns[seen.conn] = true
      protocols[seen.protocol] = true
      most = math.max(most, seen.inflight)
    end
    m:close()
    return protocols, count, most
  end

  it("multiplexes over one HTTP/2 connection when the server offers it", function()
    if not server then return pending(why) end
    local protocols, count, most = run(server.h2_url, 20, 5)
    assert.same({ ["HTTP/2.0"] = true }, protocols)
    assert.equal(1, count)
    -- side by side on it, as the server saw them (not a clock: a slow or
    -- busy machine takes longer, the requests still overlap)
    assert.is_true(most >= 2, most .. " at once")
  end)

  it("opens up to max_host_connections HTTP/1.1 connections when it does not", function()
    if not server then return pending(why) end
    local protocols, count = run(server.h1_url, 12, 3)
    assert.same({ ["HTTP/1.1"] = true }, protocols)
    assert.is_true(count >= 2 and count <= 3, count .. " connections")
  end)
end)

describe("client:map over the sandbox", function()
  local sb, client

  setup(function()
    sb = sandbox_process.start()
    client = proxyshard.new { token = TOKEN, base_url = sb.url, timeout = 10 }
  end)

  teardown(function()
    if client then client:close() end
    if sb then sb:stop() end
  end)

  before_each(function() sb:reset() end)

  local function quote(id)
    return client:order(id):addon("p0f_slots"):quote(2)
  end

  local function of(path, method)
    local out = {}
    for _, r in ipairs(sb:requests()) do
      if r.path == path and (method == nil or r.method == method) then out[#out + 1] = r end
    end
    return out
  end

  describe("arguments", function()
    it("refuses bad ones before anything runs", function()
      local ran = false
      local function fn() ran = true end
      local cases = {
        { "x", fn, nil, "list" },
        { {}, 42, nil, "fn" },
        { { 1 }, fn, "fast", "opts" },
        { { 1 }, fn, { concurrency = 0 }, "concurrency" },
        { { 1 }, fn, { concurrency = 101 }, "concurrency" },
        { { 1 }, fn, { concurrency = 2.5 }, "concurrency" },
        { { 1 }, fn, { concurrency = "2" }, "concurrency" },
      }
      for _, c in ipairs(cases) do
        local results, err = client:map(c[1], c[2], c[3])
        assert.is_nil(results)
        assert.equal("invalid_argument", err.kind)
        assert.equal(c[4], err.argument)
      end
      local results, err = client:map({ 1 }, fn, { concurrancy = 5 })
      assert.is_nil(results)
      assert.equal("invalid_argument", err.kind)
      assert.matches('did you mean "concurrency"', err.message)
      assert.is_false(ran)
      assert.equal(0, #sb:requests())
    end)

    it("an empty list gives an empty list; a callable table is a function", function()
      assert.same({}, client:map({}, function() error("not called") end))
      local callable = setmetatable({}, { __call = function(_, item, i) return item * 10 + i end })
      assert.same({ { value = 11 }, { value = 22 } }, client:map({ 1, 2 }, callable))
    end)
  end)

  it("gives the results in list order, whatever order the answers come in, concurrently", function()
    sb:fault { path = "/user/api/orders/12345", delay_ms = 600 }
    sb:fault { path = "/user/api/orders/12347", delay_ms = 300 }
    local finished = {}
    local results = client:map({ 12345, 12347, "me" }, function(item, i)
      local v, err
      if item == "me" then v, err = client:me() else v, err = client:order(item):fetch() end
      finished[#finished + 1] = i
      return v, err
    end, { concurrency = 3 })
    assert.equal(3, #results)
    assert.equal(12345, results[1].value.order_id)
    assert.equal(12347, results[2].value.order_id)
    assert.equal(10000, results[3].value.wallet_balance.cents)
    for i = 1, 3 do assert.is_nil(results[i].err) end
    -- one after another they would end 1, 2, 3; two at a time 2, 3, 1: the
    -- fast ones ended first, so all three were under way at once
    assert.same({ 3, 2, 1 }, finished)
  end)

  it("keeps errors per item: an error answer, an error raised, a value raised", function()
    local marker = { why = "a table" }
    local results = client:map({ 12345, 99999, "boom", "table", 12347 }, function(item)
      if item == "boom" then error("boom in fn") end
      if item == "table" then error(marker) end
      return client:order(item):fetch()
    end, { concurrency = 5 })
    assert.equal(5, #results)
    assert.equal(12345, results[1].value.order_id)
    assert.is_nil(results[2].value)
    assert.equal("not_found", results[2].err.kind)
    assert.equal(404, results[2].err.status)
    assert.matches("boom in fn", results[3].err)
    assert.equal(marker, results[4].err)
    assert.equal(12347, results[5].value.order_id)
  end)

  it("runs the items in at most `concurrency` coroutines, a new one only after fn raised", function()
    local seen, count = {}, 0
    local list = {}
    for i = 1, 40 do list[i] = (i % 10 == 0) and "boom" or 12345 end
    local results = client:map(list, function(item)
      local co = coroutine.running()
      if not seen[co] then seen[co], count = true, count + 1 end
      local q, err = quote(item == "boom" and 12345 or item)
      if item == "boom" then error("boom after a request") end
      return q and q.total.cents, err
    end, { concurrency = 4 })
    for i = 1, 40 do
      if i % 10 == 0 then assert.matches("boom after a request", results[i].err)
      else assert.equal(60, results[i].value, tostring(results[i].err)) end
    end
    -- 4 to start, and one more after each of the 4 that raised
    assert.is_true(count <= 8, count .. " coroutines")
    assert.is_true(count >= 4, count .. " coroutines")
  end)

  it("ends an item whose fn yields by itself; a coroutine of fn's own makes its requests in place", function()
    local results = client:map({ "yield", "nested" }, function(what)
      if what == "yield" then coroutine.yield("mine") end
      return coroutine.wrap(function() return client:order(12345):fetch() end)()
    end)
    assert.matches("fn yielded %(mine%)", results[1].err)
    assert.equal(12345, results[2].value.order_id)
  end)

  it("runs a purchase among quotes: one charge, quoted first, the quotes untouched", function()
    local items = {}
    for i = 1, 12 do items[i] = i == 6 and "buy" or "quote" end
    local results = client:map(items, function(what)
      if what == "buy" then
        return client:order(12345):addon("p0f_slots"):purchase(2, { max_total = 60, reconcile = true })
      end
      return quote(12345)
    end, { concurrency = 4 })
    for i, r in ipairs(results) do
      assert.is_nil(r.err, tostring(r.err))
      if i == 6 then
        assert.equal(60, r.value.quote.total.cents)
        assert.equal(150, r.value.addons_price_paid.cents)
      else
        assert.equal(60, r.value.total.cents)
      end
    end
    local ledger = sb:ledger()
    assert.equal(1, #ledger)
    assert.equal(60, ledger[1].amount_cents)
    assert.equal(1, #of(PURCHASE, "POST"))
  end)

  it("a dropped answer in the middle: that item unknown_outcome, exactly one charge, the others fine", function()
    sb:fault { path = PURCHASE, method = "POST", action = "drop", commit = true }
    local items = {}
    for i = 1, 9 do items[i] = i == 5 and "buy" or "quote" end
    local results = client:map(items, function(what)
      if what == "buy" then return client:order(12345):addon("p0f_slots"):purchase(2, { max_total = 100 }) end
      return quote(12345)
    end, { concurrency = 3 })
    for i, r in ipairs(results) do
      if i == 5 then
        assert.is_nil(r.value)
        assert.equal("unknown_outcome", r.err.kind)
        assert.is_true(r.err.in_flight)
        assert.equal(1, r.err.attempts)
      else
        assert.is_nil(r.err, tostring(r.err))
        assert.equal(60, r.value.total.cents)
      end
    end
    assert.equal(1, #sb:ledger())
    assert.equal(1, #of(PURCHASE, "POST"))
  end)

  it("and with reconcile = true, that item finds out it was bought, still one charge", function()
    sb:fault { path = PURCHASE, method = "POST", action = "drop", commit = true }
    local results = client:map({ "quote", "buy", "quote" }, function(what)
      if what == "buy" then
        return client:order(12345):addon("p0f_slots"):purchase(2, { max_total = 100, reconcile = true, settle = 3 })
      end
      return quote(12345)
    end, { concurrency = 3 })
    assert.is_nil(results[2].err, tostring(results[2].err))
    assert.is_true(results[2].value.reconciled)
    assert.is_false(results[2].value.retried)
    assert.equal(60, results[1].value.total.cents)
    assert.equal(60, results[3].value.total.cents)
    assert.equal(1, #sb:ledger())
    assert.equal(1, #of(PURCHASE, "POST"))
  end)

  it("waits out a Retry-After in its own item: the others go on meanwhile", function()
    sb:fault { path = "/user/api/me", status = 503, headers = { ["Retry-After"] = "1" },
      body = '{"success":false,"message":"busy"}' }
    sb:fault { path = CALCULATE, delay_ms = 100, times = 0 }
    local done_at, finished = {}, {}
    local t0 = now()
    local results = client:map({ "me", 1, 2, 3, 4, 5, 6 }, function(item, i)
      local v, err
      if item == "me" then v, err = client:me() else v, err = quote(12345) end
      done_at[i] = now() - t0
      finished[#finished + 1] = i
      return v, err
    end, { concurrency = 3 })
    assert.is_nil(results[1].err, tostring(results[1].err))
    assert.equal(10000, results[1].value.wallet_balance.cents)
    assert.equal(2, #of("/user/api/me"))
    assert.is_true(done_at[1] >= 0.95, done_at[1])
    for i = 2, 7 do assert.is_nil(results[i].err, tostring(results[i].err)) end
    -- blocked by the wait, they could only have ended after it: all six
    -- ended before the retried one
    assert.equal(1, finished[7], ("the retried one ended at %.2f s, as number %d of 7")
      :format(done_at[1], #finished))
  end)

  it("runs two spends on the same order one after the other: the second sees the first's slots", function()
    -- 12345 has 2 free p0f slots; 6 wanted: 4 missing, bought once
    sb:fault { path = "/user/api/orders/12345", method = "GET", delay_ms = 100, times = 0 }
    local results = client:map({ 12345, 12345, 12345 }, function(id)
      return client:order(id):top_up_p0f(6, { max_total = "5.00" })
    end, { concurrency = 3 })
    local bought = {}
    for i = 1, 3 do
      assert.is_nil(results[i].err, tostring(results[i].err))
      bought[i] = results[i].value.bought
    end
    assert.are.same({ 4, 0, 0 }, bought)
    local ledger = sb:ledger()
    assert.equal(1, #ledger)
    assert.equal(120, ledger[1].amount_cents)
  end)

  it("runs spends on different orders at once", function()
    sb:fault { path = CALCULATE, delay_ms = 300, times = 0 }
    local results = client:map({ 12345, 12347 }, function(id)
      return client:order(id):addon("p0f_slots"):purchase(1, { max_total = "1.00" })
    end, { concurrency = 2 })
    for i = 1, 2 do assert.is_nil(results[i].err, tostring(results[i].err)) end
    assert.equal(2, #sb:ledger())
    -- both quotes were asked before either purchase: side by side, not one
    -- spend after the other
    local kinds = {}
    for _, r in ipairs(sb:requests()) do kinds[#kinds + 1] = r.method end
    assert.are.same({ "GET", "GET", "POST", "POST" }, kinds)
  end)

  it("keeps each call's deadline: a call that times out ends alone, on time", function()
    -- the answer would come 30 s later, and the client's own timeout is
    -- longer still: only the call's 0.5 s can end it with a timeout
    sb:fault { path = "/user/api/orders/12347", delay_ms = 30000 }
    local patient = proxyshard.new { token = TOKEN, base_url = sb.url, timeout = 60 }
    local t0 = now()
    local results = patient:map({ 12347, 12345, 12345, 12345 }, function(id)
      return patient:order(id):fetch { timeout = 0.5, max_retries = 0 }
    end, { concurrency = 4 })
    local took = now() - t0
    patient:close()
    assert.is_nil(results[1].value, "the answer 30 s late came back")
    assert.equal("timeout", results[1].err.kind)
    for i = 2, 4 do assert.equal(12345, results[i].value.order_id) end
    assert.is_true(took >= 0.45, took)
    -- and the map did not wait for that answer either
    assert.is_true(took < 30, took)
  end)

  it("opens at most `concurrency` connections and runs at most that many items at once", function()
    sb:fault { path = CALCULATE, delay_ms = 20, times = 0 }
    local ids = {}
    for i = 1, 200 do ids[i] = 12345 end
    local running, most = 0, 0
    local c = proxyshard.new { token = TOKEN, base_url = sb.url, timeout = 10 }
    local results = c:map(ids, function(id)
      running = running + 1
      most = math.max(most, running)
      local q, err = quote(id)
      running = running - 1
      return q, err
    end, { concurrency = 20 })
    c:close()
    for i = 1, 200 do assert.equal(60, results[i].value.total.cents) end
    assert.equal(20, most)
    local conns, n = {}, 0
    for _, r in ipairs(of(CALCULATE)) do
      if not conns[r.connection] then n = n + 1 end
      conns[r.connection] = true
    end
    assert.equal(200, #of(CALCULATE))
    assert.is_true(n <= 20, n .. " connections")
  end)

  it("drives the items of two clients side by side", function()
    -- client's items (odd) quote order 12345, answered 2 s late; other's
    -- (even) order 12347, answered at once
    sb:fault { path = CALCULATE, delay_ms = 2000, times = 0 }
    local other = proxyshard.new { token = TOKEN, base_url = sb.url, timeout = 10 }
    local finished = {}
    local results = client:map({ 1, 2, 3, 4, 5, 6 }, function(i)
      local c = i % 2 == 0 and other or client
      local q, err = c:order(i % 2 == 0 and 12347 or 12345):addon("p0f_slots"):quote(2)
      finished[#finished + 1] = i
      return q, err
    end, { concurrency = 6 })
    other:close()
    for i = 1, 6 do assert.equal(60, results[i].value.total.cents, tostring(results[i].err)) end
    -- other's quotes came back while client's were under way: one after
    -- another, or one client's batch only once the other's was done, client's
    -- (started first) would have ended first
    local evens = {}
    for k = 1, 3 do evens[k] = finished[k] % 2 end
    assert.same({ 0, 0, 0 }, evens, table.concat(finished, ","))
  end)

  it("with a transport of its own (no batches): the requests one at a time, the results in order", function()
    local fake = require("support.fake_transport").new()
    local answer = '{"email":"a@b.c","active_orders":%d,"wallet_balance":100}'
    for i = 1, 3 do fake:json(answer:format(i)) end
    local c = proxyshard.new { token = TOKEN, transport = fake }
    local results = c:map({ "a", "b", "c" }, function() return c:me() end, { concurrency = 3 })
    for i = 1, 3 do assert.equal(i, results[i].value.active_orders, tostring(results[i].err)) end
    assert.equal(3, #fake.requests)
  end)

  it("hands the transport only the headers the client reads, unless on_response wants them all", function()
    local curl = require "proxyshard.transport.curl"
    local src = assert(shell.read_file("lua/proxyshard/engine/response.lua"))
    local read = {}
    for name in src:gmatch('headers%[%s*"([^"]+)"%s*%]') do read[name] = true end
    local listed = {}
    for _, name in ipairs(curl.READ_HEADERS) do listed[name] = true end
    assert.same(read, listed)
    local seen
    local c = proxyshard.new { token = TOKEN, base_url = sb.url, on_response = function(e) seen = e.headers end }
    assert(c:me())
    assert.is_string(seen["content-length"])
    c:close()
  end)
end)

-- A spend runs its request under pcall (proxyshard.jobs.exclusive), and its
-- map item yields there: plain Lua 5.1 cannot yield across pcall, so the
-- library's own pcall does it for every Lua.
describe("proxyshard.flows.map.pcall", function()
  local map = require "proxyshard.flows.map"

  it("lets the running coroutine yield inside, and returns what fn returns", function()
    local co = coroutine.create(function(x)
      return map.pcall(function(y) return coroutine.yield(y + 1) * 2, "and more" end, x)
    end)
    assert.are.same({ true, 2 }, { coroutine.resume(co, 1) })
    assert.are.same({ true, true, 20, "and more" }, { coroutine.resume(co, 10) })
    assert.equal("dead", coroutine.status(co))
  end)

  it("catches what fn raises, after a yield too, as pcall does; the owner is the caller's coroutine", function()
    local raised = { kind = "x" }
    local owner
    local co = coroutine.create(function()
      local me = coroutine.running()
      return map.pcall(function()
        owner = map.owner(coroutine.running()) == me
        coroutine.yield()
        error(raised)
      end)
    end)
    assert.is_true((coroutine.resume(co)))
    assert.is_true(owner)
    assert.are.same({ true, false, raised }, { coroutine.resume(co) })
    assert.are.same({ false, "plain" }, { map.pcall(error, "plain", 0) })
  end)
end)

describe("examples/map_topup.lua", function()
  local sb

  setup(function() sb = sandbox_process.start() end)
  teardown(function() if sb then sb:stop() end end)

  it("quotes every active order and buys where slots run low, within one total budget", function()
    local here = assert(shell.run("pwd"):match("^(.-)\n$"))
    local out, ok = shell.run(("LUA_PATH_5_4=%s LUA_CPATH_5_4=%s PROXYSHARD_BASE_URL=%s PROXYSHARD_TOKEN=%s "
      .. "lua5.4 examples/map_topup.lua 2>&1"):format(shell.q(here .. "/lua/?.lua;" .. here .. "/lua/?/init.lua;;"),
      shell.q(here .. "/build/lib/?.so;;"), shell.q(sb.url), TOKEN))
    assert.is_true(ok, out)
    -- both Datacenter orders have fewer than 3 free slots; $0.60 each, $1.00 in all: one is bought
    local bought, over = 0, 0
    for line in out:gmatch("[^\n]+") do
      if line:match("^order 1234[57] +%d slots free: bought 2 for %$0%.60$") then bought = bought + 1 end
      if line:match("^order 1234[57] +%d slots free, but %$0%.60 is over what is left of the budget %(%$0%.40%)") then
        over = over + 1
      end
    end
    assert.equal(1, bought, out)
    assert.equal(1, over, out)
    assert.matches("spent at most %$0%.60 of the %$1%.00 budget", out)
    local ledger = sb:ledger()
    assert.equal(1, #ledger)
    assert.equal(60, ledger[1].amount_cents)
  end)
end)
