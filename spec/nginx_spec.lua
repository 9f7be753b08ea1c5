-- A real nginx: Debian's, with libnginx-mod-http-lua, on loopback with one
-- worker, the sandbox as its upstream, and proxyshard.core built for LuaJIT
-- (scripts/build-luajit.sh). Location handlers (spec/support/nginx/
-- handlers.lua) call the API; this spec drives them over real HTTP and reads
-- the sandbox's ledger and request log. It proves the calls do not block
-- the worker: while one handler waits on a sandbox answer delayed by
-- seconds, a second request to the same worker completes before that
-- answer could have come — unless the first one uses blocking libcurl.
-- Last, the nginx.conf of docs/nginx.md runs as written against the
-- sandbox over HTTPS. No upper bound of the clock is a bare number: each
-- is the time an answer would have taken without what is tested.
--
-- The lua-resty-http specs run the real module (0.17, with its dependency
-- lua-resty-string) from PROXYSHARD_RESTY_HTTP_LIB: a ";"-list of
-- directories, relative to the checkout or absolute, each one either a lib
-- directory (holding resty/http.lua or resty/string.lua) or a folder of
-- unpacked modules, each with its lib/ (.ci/run sets ../shared/vendor).
-- Unset, or without both modules there, those specs are pending. Hostile
-- servers (103 Early Hints, a drip, 64 MiB, junk after the answer) are
-- spec/support/nginx/hostile_server.lua, between nginx and the sandbox.
-- Installs nothing: scripts/setup.sh installs nginx and its lua module.
local socket = require "socket"
local cjson = require "cjson"
local harness = require "support.nginx.harness"
local sandbox_process = require "support.sandbox_process"
local shell = require "support.shell"

local ORDER = "/user/api/orders/12345"
local PURCHASE = ORDER .. "/addons/purchase"
local CALCULATE = ORDER .. "/addons/calculate"

local sh, read_file, wait_for = shell.sh, shell.read_file, shell.wait_for
local ROOT, http_get, error_log = harness.ROOT, harness.http_get, harness.error_log

local RESTY_PATH, NO_RESTY = harness.resty_path()

-- The spec's configuration, from spec/support/nginx/nginx.conf.template.
local function template_config(sandbox_port, hostile_port)
  return harness.template("spec/support/nginx/nginx.conf.template",
    { SANDBOX_PORT = sandbox_port, HOSTILE_PORT = hostile_port, RESTY_PATH = RESTY_PATH or "" })
end

-- Replace `from` (plain text, exactly once) in `text`.
local function replace_once(text, from, to)
  local i, j = text:find(from, 1, true)
  assert(i and not text:find(from, j + 1, true), "docs/nginx.md's nginx.conf no longer has exactly one " .. from)
  return text:sub(1, i - 1) .. to .. text:sub(j + 1)
end

-- docs/nginx.md's configuration as it stands, pointed at the sandbox over HTTPS
-- instead of user-api.proxyshard.com:443, trusting `ca_file`, and run in
-- a temporary prefix.
local function readme_config(sandbox_port, ca_file)
  local doc = read_file(ROOT .. "/docs/nginx.md") or ""
  local conf = assert(doc:match("\n```nginx\n(.-)```"), "no nginx.conf excerpt in docs/nginx.md")
  return function(prefix, port)
    local c = conf
    c = replace_once(c, "server user-api.proxyshard.com:443;", "server 127.0.0.1:" .. sandbox_port .. ";")
    c = replace_once(c, "/etc/ssl/certs/ca-certificates.crt", ca_file)
    c = c:gsub("/opt/proxyshard/", ROOT .. "/")
    c = replace_once(c, "listen 127.0.0.1:8080;", "listen 127.0.0.1:" .. port .. ";")
    c = replace_once(c, "\nevents {", ("\ndaemon off; pid %s/logs/nginx.pid; error_log %s/logs/error.log;\nevents {")
      :format(prefix, prefix))
    c = replace_once(c, "\nhttp {\n", ("\nhttp {\n  access_log %s/logs/access.log; client_body_temp_path %s/tmp/body; "
      .. "proxy_temp_path %s/tmp/proxy;\n  fastcgi_temp_path %s/tmp/fastcgi; uwsgi_temp_path %s/tmp/uwsgi; "
      .. "scgi_temp_path %s/tmp/scgi;\n"):format(prefix, prefix, prefix, prefix, prefix, prefix))
    return c
  end
end


-- Seconds spec/support/nginx/hostile_server.lua's "drip" takes to send the
-- whole of its canned 200 with `body` (default "{}"), head included, a byte
-- every `interval` seconds: when a read timeout that every byte re-armed
-- would see the answer end.
local function drip_seconds(interval, body)
  body = body or "{}"
  local whole = ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s")
    :format(#body, body)
  return (#whole - 1) * interval
end

-- One HTTP/1.0 request with a body over LuaSocket: status, body.
local function http_request(port, method, path, body)
  local c = socket.tcp()
  c:settimeout(10)
  assert(c:connect("127.0.0.1", port))
  body = body or ""
  c:send(("%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n%s"):format(method, path, #body, body))
  local raw = c:receive("*a") or ""
  c:close()
  return tonumber(raw:match("^HTTP/1%.%d (%d%d%d)")), raw:match("\r\n\r\n(.*)$") or ""
end

--- spec/support/nginx/hostile_server.lua, in front of the sandbox.
local function start_hostile(sandbox_port)
  local pipe = assert(io.popen(("echo $$; exec lua5.4 spec/support/nginx/hostile_server.lua %d 600 "
    .. "2>>/tmp/proxyshard-hostile-spec.log"):format(sandbox_port)))
  local pid = assert(tonumber(pipe:read("l")), "no pid")
  local port = tonumber((pipe:read("l") or ""):match("^port=(%d+)$"))
  assert(port, "the hostile server did not start (see /tmp/proxyshard-hostile-spec.log)")
  local h = { pipe = pipe, pid = pid, port = port }
  function h.control(method, path, body)
    local status, answer = http_request(port, method, "/_hostile/" .. path, body and cjson.encode(body))
    assert(status == 200, "hostile " .. path .. ": " .. tostring(status) .. " " .. tostring(answer))
    return cjson.decode(answer)
  end
  function h.rule(r) return h.control("POST", "rules", r) end
  function h.log() return h.control("GET", "log").requests end
  function h.stop()
    sh("kill -TERM " .. pid .. " 2>/dev/null")
    pipe:close()
  end
  return h
end

-- Build the module for LuaJIT (up to date in a fraction of a second; nginx
-- must not load a stale one), start the sandbox with `sandbox_args` (and,
-- with `hostile`, the hostile front before it), then nginx with the
-- configuration render_for(sandbox_port, hostile_port) makes; when nginx
-- does not start, the others are stopped again. Returns sandbox, nginx,
-- hostile front.
local function start_both(sandbox_args, ca_file, render_for, env, hostile)
  assert(harness.build_luajit())
  local sb = sandbox_process.start(sandbox_args, ca_file)
  local sandbox_port = tonumber(sb.url:match(":(%d+)$"))
  local ok, hs = true, nil
  if hostile then ok, hs = pcall(start_hostile, sandbox_port) end
  if not ok then
    sb:stop()
    error(hs, 0)
  end
  local nx
  ok, nx = pcall(harness.start_nginx, render_for(sandbox_port, hs and hs.port), env)
  if not ok then
    if hs then hs.stop() end
    sb:stop()
    error(nx, 0)
  end
  return sb, nx, hs
end
describe("inside a real nginx (one worker, the sandbox upstream)", function()
  local sb, nx, hs

  setup(function()
    local missing = harness.missing()
    assert(not missing, missing)
    sb, nx, hs = start_both(nil, nil, template_config, nil, true)
  end)

  teardown(function()
    if nx then harness.stop_nginx(nx) end
    if hs then hs.stop() end
    if sb then sb:stop() end
  end)

  before_each(function()
    sb:reset()
    hs.control("POST", "reset")
  end)

  -- GET a location; its decoded JSON answer (200 expected).
  local function get(path, headers)
    local status, body = http_get(nx.port, path, headers)
    if status ~= 200 then
      error(("GET %s: %s %s\n-- nginx error.log:\n%s"):format(path, tostring(status), tostring(body),
        error_log(nx)), 2)
    end
    return cjson.decode(body)
  end

  -- A stashed result, once there is one.
  local function result(key)
    local body = wait_for(function()
      local status, b = http_get(nx.port, "/result?key=" .. key)
      return status == 200 and b
    end, 10)
    assert(body, "no result " .. key .. " within 10 s")
    return cjson.decode(body)
  end

  local function seen(method, path)
    local out = {}
    for _, r in ipairs(sb:requests()) do
      if (method == nil or r.method == method) and (path == nil or r.path == path) then out[#out + 1] = r end
    end
    return out
  end

  -- Request A (`slow`, which waits on the order's GET, delayed by `delay`
  -- seconds) in the background with the curl CLI; once the sandbox has A's
  -- request, request B (`fast`), timed here.
  local function race(slow, fast, delay)
    sb:fault { method = "GET", path = ORDER, delay_ms = math.floor(delay * 1000) }
    local a_body = nx.prefix .. "/a.body"
    local a_start = socket.gettime()
    local a = assert(io.popen(("curl -s -m 30 -o %s -w '%%{http_code} %%{time_total}\\n' "
      .. "'http://127.0.0.1:%d%s'; date +%%s.%%N"):format(a_body, nx.port, slow)))
    local in_flight = wait_for(function() return #seen("GET", ORDER) == 1 end, 10)
    local b_status, b_body, b_time = http_get(nx.port, fast)
    local b_end = socket.gettime()
    local out = a:read("a")
    a:close()
    assert(in_flight, "the sandbox never saw request A")
    local a_status, a_time, a_end = out:match("^(%d+) ([%d.]+)\n([%d.]+)")
    assert.are.equal("200", a_status, out)
    assert.are.equal(200, b_status)
    local a_answer, b_answer = cjson.decode(read_file(a_body)), cjson.decode(b_body)
    assert.is_true(a_answer.ok, read_file(a_body))
    assert.is_true(b_answer.ok, b_body)
    return { a_start = a_start, a_time = tonumber(a_time), a_end = tonumber(a_end), b_time = b_time, b_end = b_end }
  end

  -- The calls `ops` (e.g. "purchase,quote") in one handler under `prefix`
  -- ("/resty" or "" for the subrequest location), through the hostile
  -- front; query: more parameters. The results, in order.
  local function calls(prefix, ops, query)
    local path = prefix .. "/sequence?ops=" .. ops .. (query or "")
    local status, body = http_get(nx.port, path, nil, 40)
    assert(status == 200, ("%s: %s %s\n-- nginx error.log:\n%s"):format(path, tostring(status),
      tostring(body), error_log(nx)))
    return cjson.decode(body).results
  end

  -- A new order under a cap, a renewal and traffic, in one handler through
  -- `sequence`: each went through, and each charged once.
  local function other_spends(sequence)
    local r = sequence("purchase_order,renew,add_bandwidth")
    for i = 1, 3 do assert.is_true(r[i].ok, r[i].text or r[i].message) end
    assert.are.equal(300, r[1].quote_total)
    assert.is_true(r[1].order_id >= 20000)
    local kinds = {}
    for _, entry in ipairs(sb:ledger()) do kinds[#kinds + 1] = entry.kind end
    table.sort(kinds)
    assert.are.same({ "bandwidth", "order", "renewal" }, kinds)
    assert.are.equal(1, #seen("POST", "/user/api/orders/purchase"))
    -- the renewal has no body in the document: none went out, with its
    -- length (the API refuses a POST without one), and no Content-Type
    local renew = seen("POST", "/user/api/orders/12346/renew")
    assert.are.equal(1, #renew)
    assert.are.equal("0", renew[1].headers["content-length"])
    assert.is_nil(renew[1].headers["content-type"])
  end

  -- The hostile front's connection numbers of the requests it passed or shaped.
  local function conns()
    local out = {}
    for i, r in ipairs(hs.log()) do out[i] = r.conn end
    return out
  end

  -- client:map inside nginx: light threads over the transport under
  -- `prefix` ("" the subrequest location, "/resty" lua-resty-http).
  local function map_specs(prefix)
    local function map(items, concurrency)
      return get(prefix .. "/map?items=" .. items .. "&concurrency=" .. concurrency)
    end

    describe("client:map, in light threads", function()
      it("gives the results in list order, errors per item, concurrently", function()
        sb:fault { method = "GET", path = ORDER, delay_ms = 600 }
        local m = map("fetch,missing,boom,quote", 4)
        assert.is_true(m.results[1].ok, m.results[1].text)
        assert.are.equal(12345, m.results[1].order_id)
        assert.are.equal("not_found", m.results[2].kind)
        assert.matches("boom in fn", m.results[3].raised)
        assert.are.equal(60, m.results[4].total)
        -- the slow one ended last: one after another, it would have ended first
        assert.are.equal(1, m.finished[4])
        assert.is_true(m.elapsed >= 0.55, m.elapsed)
      end)

      it("runs at most `concurrency` items at once, side by side", function()
        sb:fault { method = "GET", path = CALCULATE, delay_ms = 300, times = 0 }
        local m = map("quote,quote,quote,quote,quote,quote", 3)
        for i = 1, 6 do assert.are.equal(60, m.results[i].total, m.results[i].text) end
        -- three inside fn at once (one after another: one), as the handler
        -- counted them; and no more than three: two rounds of 0.3 s at least
        assert.are.equal(3, m.most)
        assert.is_true(m.elapsed >= 0.55, m.elapsed)
      end)

      it("a purchase among quotes: one charge", function()
        local m = map("quote,quote,buy,quote,quote", 5)
        assert.is_true(m.results[3].ok, m.results[3].text)
        assert.are.equal(60, m.results[3].quoted)
        for _, i in ipairs { 1, 2, 4, 5 } do assert.are.equal(60, m.results[i].total) end
        assert.are.equal(1, #sb:ledger())
        assert.are.equal(1, #seen("POST", PURCHASE))
      end)

      it("its answer dropped: that item unknown_outcome, exactly one charge, the others fine", function()
        sb:fault { method = "POST", path = PURCHASE, action = "drop", commit = true }
        local m = map("quote,quote,buy,quote,quote", 5)
        assert.are.equal("unknown_outcome", m.results[3].kind, m.results[3].text)
        for _, i in ipairs { 1, 2, 4, 5 } do assert.are.equal(60, m.results[i].total, m.results[i].text) end
        assert.are.equal(1, #sb:ledger())
        assert.are.equal(1, #seen("POST", PURCHASE))
      end)
    end)
  end

  describe("through the subrequest location", function()
    it("quotes: 3 → 5 p0f slots for 60 cents", function()
      local q = get("/quote?qty=2")
      assert.is_true(q.ok, q.text)
      assert.are.equal(3, q.current_qty)
      assert.are.equal(2, q.add_qty)
      assert.are.equal(5, q.new_qty)
      assert.are.equal(30, q.price_per_unit)
      assert.are.equal(60, q.total)
      local r = seen()
      assert.are.equal(1, #r)
      assert.are.equal(CALCULATE, r[1].path)
      assert.are.equal("addon_key=p0f_slots&add_qty=2", r[1].query)
    end)

    it("sends the client's headers only, over a kept-alive upstream connection", function()
      local parent = { Cookie = "session=parent-cookie", ["X-Parent-Secret"] = "leak" }
      assert.is_true(get("/quote", parent).ok)
      assert.is_true(get("/quote", parent).ok)
      local r = seen()
      assert.are.equal(2, #r)
      for _, req in ipairs(r) do
        assert.are.equal("[redacted]", req.headers.authorization) -- the client's, redacted by the sandbox
        assert.matches("^proxyshard%-lua/%S+ %(Lua 5%.1; ngx_lua/%d+%)$", req.headers["user-agent"])
        assert.are.equal("application/json", req.headers.accept)
        assert.is_nil(req.headers.cookie)
        assert.is_nil(req.headers["x-parent-secret"])
        assert.is_nil(req.headers["content-type"])
      end
      assert.are.equal(r[1].connection, r[2].connection)
    end)

    it("buys under a cap that passes: one charge of 60 cents", function()
      local p = get("/purchase?qty=2&cap=60")
      assert.is_true(p.ok, p.text)
      assert.are.equal(60, p.quote_total)
      assert.are.equal(150, p.addons_price_paid)
      local ledger = sb:ledger()
      assert.are.equal(1, #ledger)
      assert.are.equal(60, ledger[1].amount_cents)
      assert.are.equal(2, ledger[1].qty)
      local post = seen("POST", PURCHASE)
      assert.are.equal(1, #post)
      assert.are.equal('{"add_qty":2,"addon_key":"p0f_slots"}', post[1].body)
      assert.are.equal("application/json", post[1].headers["content-type"])
      -- one Content-Length, sent by the transport (the API refuses a POST without)
      assert.are.equal(tostring(#post[1].body), post[1].headers["content-length"])
    end)

    it("refuses a cap that is too low: kind budget, nothing bought", function()
      local p = get("/purchase?qty=2&cap=59")
      assert.is_false(p.ok)
      assert.are.equal("budget", p.kind)
      assert.matches("above max_total $0.59", p.message, 1, true)
      assert.are.equal(0, #sb:ledger())
      assert.are.equal(0, #seen("POST"))
    end)

    it("sets signatures; the order then shows the slots used", function()
      local s = get("/sign?ips=203.0.113.11,203.0.113.12&signature=win11")
      assert.is_true(s.ok, s.text)
      assert.are.equal(2, s.updated)
      local info = get("/fetch")
      assert.is_true(info.ok, info.text)
      assert.are.equal(3, info.p0f_slots_used)
      assert.are.equal(3, info.p0f_slots_available)
    end)

    describe("maps each failure to its kind", function()
      it("validation: not enough slots", function()
        local s = get("/sign?ips=203.0.113.11,203.0.113.12,203.0.113.13,203.0.113.14")
        assert.are.equal("validation", s.kind)
        assert.are.equal(400, s.status)
        assert.matches("Not enough p0f slots", s.message, 1, true)
        assert.are.equal(1, s.attempts)
      end)

      it("not_found: order 999", function()
        local e = get("/fetch?order=999")
        assert.are.equal("not_found", e.kind)
        assert.are.equal(404, e.status)
      end)

      it("auth: a client with a wrong token", function()
        local e = get("/fetch?token=wrong-token-123")
        assert.are.equal("auth", e.kind)
        assert.are.equal(401, e.status)
        assert.are.equal(1, e.attempts)
        assert.is_nil(e.text:find("wrong-token-123", 1, true))
      end)

      it("invalid_argument: a bad order id, nothing sent", function()
        local e = get("/fetch?order=abc")
        assert.are.equal("invalid_argument", e.kind)
        assert.are.equal("order_id", e.argument)
        assert.are.equal(0, #seen())
      end)

      it("server: a 503 on every try of a GET, retried (with ngx.sleep) to 3 attempts", function()
        sb:fault { method = "GET", path = ORDER, status = 503, times = 0 }
        local e = get("/fetch")
        assert.are.equal("server", e.kind)
        assert.are.equal(503, e.status)
        assert.are.equal(3, e.attempts)
        assert.are.equal(3, #seen("GET", ORDER))
      end)

      it("unknown_outcome: a purchase charged, its answer lost (nginx: 502), sent once", function()
        sb:fault { method = "POST", path = PURCHASE, action = "drop", commit = true }
        local e = get("/purchase?qty=2")
        assert.are.equal("unknown_outcome", e.kind)
        -- ngx.location.capture marks nginx's own 502 "truncated": the
        -- upstream broke, so the transport reports a network failure
        assert.are.equal("network", e.cause)
        assert.matches("cut short (HTTP 502)", e.message, 1, true)
        assert.are.equal(1, e.attempts)
        assert.are.equal(1, #sb:ledger())
        assert.are.equal(1, #seen("POST", PURCHASE))
      end)

      it("phase: a call in set_by_lua_block, nothing sent", function()
        local e = get("/phase/set")
        assert.are.equal("phase", e.kind)
        assert.matches("in nginx's set phase", e.message, 1, true)
        assert.matches("ngx.timer.at", e.message, 1, true)
        assert.are.equal(1, e.attempts)
        assert.are.equal(0, #seen())
      end)

      it("phase: a call in log_by_lua_block", function()
        assert.is_true(get("/phase/log").ok)
        local e = result("log")
        assert.are.equal("phase", e.kind)
        assert.matches("in nginx's log phase", e.message, 1, true)
        assert.are.equal(0, #seen())
      end)

      it("phase: a subrequest from a timer", function()
        assert.is_true(get("/phase/timer").ok)
        local e = result("timer_subrequest")
        assert.are.equal("phase", e.kind)
        assert.matches("in nginx's timer phase, which has no subrequests", e.message, 1, true)
        assert.are.equal(0, #seen())
      end)
    end)

    -- What bounds an attempt through a subrequest: nginx's proxy_*_timeout
    -- (2 s on the hostile location), not the client's timeout.
    describe("bounded by nginx (proxy_*_timeout 2s), not by timeout", function()
      local function sequence(ops, query) return calls("", ops, query) end

      it("a stall ends at proxy_read_timeout as a timeout", function()
        -- the answer would come after 20 s; nothing but nginx ends the
        -- attempt before (the client's timeout does not bound it here)
        sb:fault { method = "GET", path = ORDER, delay_ms = 20000 }
        local r = sequence("fetch", "&timeout=10&retries=0")
        assert.are.equal("timeout", r[1].kind)
        assert.matches("proxy_*_timeout", r[1].message, 1, true)
        assert.is_true(r[1].elapsed >= 1.9, "ended after " .. r[1].elapsed .. " s")
        assert.is_true(r[1].elapsed < 20, "ended after " .. r[1].elapsed .. " s")
      end)

      it("so does a drip of the status line and headers: arriving bytes do not re-arm it", function()
        -- a byte every 0.5 s, well within the 2 s: re-armed by each one, it
        -- would read the whole answer, 35 s of it
        hs.rule { method = "GET", path = ORDER, action = "drip", interval_ms = 500 }
        local r = sequence("fetch", "&timeout=10&retries=0")
        assert.are.equal("timeout", r[1].kind)
        assert.is_true(r[1].elapsed >= 1.9, "ended after " .. r[1].elapsed .. " s")
        assert.is_true(r[1].elapsed < drip_seconds(0.5), "ended after " .. r[1].elapsed .. " s")
      end)

      it("a drip of the body is bounded only between two reads: the answer, late, is returned", function()
        local body = '{"success":true,"order":{"order_id":12345,"tag":"' .. ("y"):rep(30) .. '"}}'
        hs.rule { method = "GET", path = ORDER, action = "drip", interval_ms = 50, body_only = true, body = body }
        local r = sequence("fetch", "&timeout=1&retries=0")
        assert.is_true(r[1].ok, r[1].text)
        assert.are.equal(12345, r[1].order_id)
        assert.is_true(r[1].elapsed > #body * 0.05 - 0.5, "ended after " .. r[1].elapsed .. " s")
      end)

      it("a purchase answered after the timeout is its receipt, not an error", function()
        sb:fault { method = "POST", path = PURCHASE, delay_ms = 1500 }
        local r = sequence("purchase", "&timeout=1")
        assert.is_true(r[1].ok, r[1].text)
        assert.are.equal(150, r[1].addons_price_paid)
        assert.is_true(r[1].elapsed >= 1.5)
        assert.are.equal(1, #sb:ledger())
      end)

      it("a 103 Early Hints: nginx's proxy takes it for the answer; the purchase's outcome is unknown", function()
        -- nginx 1.22 cannot read past an interim answer of the upstream;
        -- lua-resty-http (below) does
        hs.rule { method = "POST", path = PURCHASE, action = "early_hints", gap_ms = 100 }
        local r = sequence("purchase,quote")
        assert.are.equal("unknown_outcome", r[1].kind)
        assert.matches("interim answer", r[1].message, 1, true)
        assert.are.equal(1, #sb:ledger()) -- charged once, never resent
        assert.are.equal(1, #seen("POST", PURCHASE))
        assert.is_true(r[2].ok, r[2].text) -- the next call gets its own answer
        assert.are.same({ 5, 7 }, { r[2].current_qty, r[2].new_qty })
      end)

      it("spends money the other ways too: a new order under a cap, a renewal, traffic", function()
        other_spends(sequence)
      end)

      it("an 8 MiB answer is read whole, then refused: max_response_bytes is checked after", function()
        hs.rule { method = "GET", path = ORDER, action = "huge", bytes = 8 * 1024 * 1024 }
        local r = sequence("fetch,fetch", "&retries=0")
        assert.are.equal("decode", r[1].kind)
        assert.matches("max_response_bytes (1048576): 8388608 bytes", r[1].message, 1, true)
        assert.are.equal(8 * 1024 * 1024, hs.control("GET", "stats").sent)
        assert.is_true(r[2].ok, r[2].text)
      end)
    end)

    it("does not block the worker: B completes while A waits 3 s on the API", function()
      local t = race("/fetch", "/quote", 3)
      print(("# subrequest: B (/quote) took %.3f s while A (/fetch) waited %.3f s"):format(t.b_time, t.a_time))
      assert.is_true(t.a_time >= 2.99, "A took " .. t.a_time)
      -- B was done before A could even have been answered (a blocked
      -- worker serves B only after A's answer, 3 s after A started)
      assert.is_true(t.b_end < t.a_start + 3, "B ended after A")
      assert.is_true(t.b_end < t.a_end)
    end)

    it("for contrast: libcurl, asked for by name, blocks the worker until A is done", function()
      local t = race("/curl/fetch", "/quote", 1)
      print(("# blocking libcurl: B (/quote) took %.3f s while A (/curl/fetch) waited %.3f s"):format(
        t.b_time, t.a_time))
      assert.is_true(t.a_time >= 0.99, "A took " .. t.a_time)
      -- B could only be served once A's handler returned
      assert.is_true(t.b_end >= t.a_start + 1.0, "B ended before A could")
      assert.is_true(t.b_time >= 0.5, "B took " .. t.b_time)
    end)

    map_specs("")
  end)

  describe("through the real lua-resty-http", function()
    if not RESTY_PATH then
      pending("skipped: " .. NO_RESTY .. "; point it at lua-resty-http 0.17 and lua-resty-string "
        .. "(e.g. ../shared/vendor, as .ci/run does)")
      return
    end

    local function sequence(ops, query) return calls("/resty", ops, query) end

    -- The worker's peak resident memory, KiB.
    local function worker_peak_kib()
      local pid = (select(2, http_get(nx.port, "/resty/pid")) or ""):match("%d+")
      local status = read_file("/proc/" .. tostring(pid) .. "/status") or ""
      return assert(tonumber(status:match("VmHWM:%s*(%d+) kB")), "no VmHWM for worker " .. tostring(pid))
    end

    it("spends money the other ways too: a new order under a cap, a renewal, traffic", function()
      other_spends(sequence)
    end)

    it("is the real module, 0.17.2", function()
      assert.truthy(read_file(nx.prefix .. "/nginx.conf"):find(RESTY_PATH, 1, true))
      assert.is_nil(io.open(ROOT .. "/spec/support/nginx/resty/http.lua")) -- no stand-in to pick up instead
      local version
      for dir in RESTY_PATH:gmatch("([^;]+)/%?%.lua") do
        version = version or (read_file(dir .. "/resty/http.lua") or ""):match("_VERSION = '([%d.]+)'")
      end
      assert.are.equal("0.17.2", version)
    end)

    it("quotes", function()
      local q = get("/resty/quote?qty=2")
      assert.is_true(q.ok, q.text)
      assert.are.same({ 3, 2, 5, 30, 60 }, { q.current_qty, q.add_qty, q.new_qty, q.price_per_unit, q.total })
      local r = seen()
      assert.are.equal(1, #r)
      assert.are.equal("[redacted]", r[1].headers.authorization)
    end)

    it("buys under a cap: one charge of 60 cents; refuses a lower cap", function()
      local p = get("/resty/purchase?qty=2&cap=60")
      assert.is_true(p.ok, p.text)
      assert.are.equal(150, p.addons_price_paid)
      local too_low = get("/resty/purchase?qty=2&cap=59")
      assert.are.equal("budget", too_low.kind)
      local ledger = sb:ledger()
      assert.are.equal(1, #ledger)
      assert.are.equal(60, ledger[1].amount_cents)
      assert.are.equal(1, #seen("POST", PURCHASE))
    end)

    it("works from a timer", function()
      assert.is_true(get("/resty/timer").ok)
      local q = result("timer_resty")
      assert.is_true(q.ok, q.text)
      assert.are.equal(60, q.total)
      assert.are.equal(1, #seen("GET", CALCULATE))
    end)

    it("does not block the worker: B completes while A waits 3 s on the API", function()
      local t = race("/resty/fetch", "/resty/quote", 3)
      print(("# resty.http: B (/resty/quote) took %.3f s while A (/resty/fetch) waited %.3f s"):format(
        t.b_time, t.a_time))
      assert.is_true(t.a_time >= 2.99, "A took " .. t.a_time)
      -- before A's answer, 3 s after A started, could have come
      assert.is_true(t.b_end < t.a_start + 3, "B ended after A")
      assert.is_true(t.b_end < t.a_end)
    end)

    it("keeps a cleanly read connection: two calls, one connection", function()
      -- the yardstick for the specs below that say a connection was not reused
      local r = sequence("fetch,quote")
      assert.is_true(r[1].ok, r[1].text)
      assert.is_true(r[2].ok, r[2].text)
      local c = conns()
      assert.are.equal(2, #c)
      assert.are.equal(c[1], c[2])
    end)

    it("reads past a 103 Early Hints to the purchase's answer; the next call gets its own", function()
      hs.rule { method = "POST", path = PURCHASE, action = "early_hints", gap_ms = 100 }
      local r = sequence("purchase,quote")
      assert.is_true(r[1].ok, r[1].text)
      assert.are.equal(150, r[1].addons_price_paid) -- the purchase's receipt
      local ledger = sb:ledger()
      assert.are.equal(1, #ledger)
      assert.are.equal(60, ledger[1].amount_cents)
      assert.are.equal(1, #seen("POST", PURCHASE))
      -- the quote is the quote's answer: 5 slots now, 2 more → 7
      assert.is_true(r[2].ok, r[2].text)
      assert.are.same({ 5, 2, 7, 60 }, { r[2].current_qty, r[2].add_qty, r[2].new_qty, r[2].total })
      -- read to its end, the connection was fit to be reused: the purchase's
      -- price, the purchase, the quote, all on one connection
      local c = conns()
      assert.are.equal(3, #c)
      assert.are.equal(c[1], c[2])
      assert.are.equal(c[2], c[3])
    end)

    it("stops a 64 MiB answer at max_response_bytes without reading it whole, and drops the connection",
      function()
        hs.rule { method = "GET", path = ORDER, action = "huge", bytes = 64 * 1024 * 1024 }
        local peak_before = worker_peak_kib()
        local r = sequence("fetch,fetch", "&retries=0")
        local peak_after = worker_peak_kib()
        local sent = hs.control("GET", "stats").sent
        print(("# 64 MiB answer: %d bytes got out of the server, worker peak RSS %d → %d KiB"):format(
          sent, peak_before, peak_after))
        assert.is_false(r[1].ok)
        assert.are.equal("decode", r[1].kind)
        assert.matches("max_response_bytes (1048576)", r[1].message, 1, true)
        -- nowhere near all of it left the server (the rest of it was
        -- socket buffers), nor did the worker hold it
        assert.is_true(sent < 24 * 1024 * 1024, "the server sent " .. sent .. " bytes")
        assert.is_true(peak_after - peak_before < 24 * 1024, ("peak RSS grew by %d KiB"):format(
          peak_after - peak_before))
        -- the connection with 63 MiB unread was not handed to the next call
        assert.is_true(r[2].ok, r[2].text)
        local c = conns()
        assert.are.equal(2, #c)
        assert.are_not.equal(c[1], c[2])
      end)

    it("stops a chunked 8 MiB answer at max_response_bytes too", function()
      hs.rule { method = "GET", path = ORDER, action = "huge", bytes = 8 * 1024 * 1024, chunked = true }
      local r = sequence("fetch,fetch", "&retries=0")
      assert.are.equal("decode", r[1].kind)
      assert.matches("max_response_bytes (1048576)", r[1].message, 1, true)
      assert.is_true(hs.control("GET", "stats").sent < 8 * 1024 * 1024)
      assert.is_true(r[2].ok, r[2].text)
      local c = conns()
      assert.are_not.equal(c[1], c[2])
    end)

    it("ends a call to a server dripping a byte every 0.25 s at its timeout (2 s)", function()
      hs.rule { method = "GET", path = ORDER, action = "drip", interval_ms = 250, times = 0 }
      local t0 = socket.gettime()
      local r = sequence("fetch", "&timeout=2")
      local took = socket.gettime() - t0
      print(("# drip: the call took %.3f s (handler: %.3f s) with timeout = 2"):format(took, r[1].elapsed))
      assert.is_false(r[1].ok)
      assert.are.equal("timeout", r[1].kind)
      assert.is_true(r[1].elapsed >= 1.9, "ended after " .. r[1].elapsed .. " s")
      -- a timeout re-armed by each byte would only end with the answer
      assert.is_true(r[1].elapsed < drip_seconds(0.25), "ended after " .. r[1].elapsed .. " s")
      assert.is_true(took < drip_seconds(0.25), "took " .. took .. " s")
    end)

    it("does not reuse a connection that timed out", function()
      hs.rule { method = "GET", path = ORDER, action = "drip", interval_ms = 250 }
      local r = sequence("fetch,fetch", "&timeout=2&retries=0")
      assert.are.equal("timeout", r[1].kind)
      assert.is_true(r[1].elapsed < drip_seconds(0.25), "ended after " .. r[1].elapsed .. " s")
      assert.is_true(r[2].ok, r[2].text)
      local c = conns()
      assert.are.equal(2, #c)
      assert.are_not.equal(c[1], c[2])
    end)

    it("does not reuse a connection with bytes after the answer", function()
      hs.rule { method = "GET", path = ORDER, action = "junk" }
      local r = sequence("fetch,quote")
      assert.is_true(r[1].ok, r[1].text)
      assert.is_true(r[2].ok, r[2].text) -- its own answer, not the junk
      assert.are.equal(60, r[2].total)
      local c = conns()
      assert.are_not.equal(c[1], c[2])
    end)

    map_specs("/resty")
  end)
end)

describe("docs/nginx.md's nginx.conf", function()
  local dir, sb, nx

  setup(function()
    local missing = harness.missing()
    assert(not missing, missing)
    dir = shell.tmpdir("proxyshard-readme")
    -- the API's name, as nginx checks it; and 127.0.0.1 for the control session
    assert(sh(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
      .. "-subj /CN=user-api.proxyshard.com -addext subjectAltName=DNS:user-api.proxyshard.com,IP:127.0.0.1 "
      .. "-keyout %s/key.pem -out %s/cert.pem >/dev/null 2>&1"):format(dir, dir)))
    sb, nx = start_both(("--tls-cert %s/cert.pem --tls-key %s/key.pem"):format(dir, dir), dir .. "/cert.pem",
      function(port) return readme_config(port, dir .. "/cert.pem") end, "PROXYSHARD_TOKEN=sandbox-token ")
  end)

  teardown(function()
    if nx then harness.stop_nginx(nx) end
    if sb then sb:stop() end
    if dir then sh("rm -rf '" .. dir .. "'") end
  end)

  it("works as written: /topup buys under its cap over verified HTTPS", function()
    local status, body = http_get(nx.port, "/topup")
    assert.are.equal(200, status, tostring(body) .. "\n" .. error_log(nx, 2000))
    local answer = cjson.decode(body)
    assert.are.equal(60, answer.quoted_cents)
    assert.are.equal(150, answer.addons_price_paid_cents)
    local ledger = sb:ledger()
    assert.are.equal(1, #ledger)
    assert.are.equal(60, ledger[1].amount_cents)
  end)
end)
