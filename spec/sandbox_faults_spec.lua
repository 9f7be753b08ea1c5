-- Fault actions of the sandbox over real HTTP: bin/proxyshard-sandbox runs as
-- a separate process, and the answers are checked with the curl command-line
-- tool (its exit codes name each kind of broken answer) and with raw
-- LuaSocket connections (to control exactly which connection is reused).

local cjson = require "cjson"
local socket = require "socket"
local shell = require "support.shell"
local sandbox_process = require "support.sandbox_process"

local q, run, read_file, wait_for = shell.q, shell.run, shell.read_file, shell.wait_for

local TOKEN = "sandbox-token"
local ME = "/user/api/me"
local PURCHASE = "/user/api/orders/12345/addons/purchase"
local BUY = '{"addon_key":"p0f_slots","add_qty":1}'

local tmp = shell.tmpdir()

-- curl: returns { rc, code, size, time, body, headers, err }. opts: method,
-- body (JSON), max_time, extra (raw extra arguments), token (false: none).
local function curl(url, path, opts)
  opts = opts or {}
  local args = { "curl -sS --max-time", tostring(opts.max_time or 10) }
  if opts.method then args[#args + 1] = "-X " .. opts.method end
  if opts.token ~= false then args[#args + 1] = "-H " .. q("Authorization: Bearer " .. TOKEN) end
  if opts.body then
    args[#args + 1] = "-H 'Content-Type: application/json' --data-binary " .. q(opts.body)
  end
  if opts.extra then args[#args + 1] = opts.extra end
  args[#args + 1] = ("-o %s/body -D %s/headers -w '%%{http_code} %%{size_download} %%{time_total}'")
    :format(tmp, tmp)
  args[#args + 1] = q(url .. path)
  os.remove(tmp .. "/body")
  os.remove(tmp .. "/headers")
  local out = run(table.concat(args, " ") .. " 2>" .. tmp .. "/err; echo \" $?\"")
  local code, size, t, rc = out:match("^(%d+) (%d+) ([%d.]+) (%d+)")
  return {
    rc = tonumber(rc), code = tonumber(code), size = tonumber(size), time = tonumber(t),
    body = read_file(tmp .. "/body") or "", headers = read_file(tmp .. "/headers") or "",
    err = read_file(tmp .. "/err") or "",
  }
end

local function control(url, method, path, body)
  local r = curl(url, path, { method = method, body = body and cjson.encode(body), token = false })
  assert(r.rc == 0 and r.code == 200, ("control %s %s: rc %s, HTTP %s %s"):format(
    method, path, tostring(r.rc), tostring(r.code), r.body))
  return cjson.decode(r.body)
end

-- Raw HTTP/1.1 over one TCP connection (keep-alive is the default).
local function connect(port)
  local c = assert(socket.tcp())
  c:settimeout(5)
  assert(c:connect("127.0.0.1", port))
  return c
end

local function send_request(c, method, path, body)
  local lines = { ("%s %s HTTP/1.1"):format(method, path), "Host: 127.0.0.1",
    "Authorization: Bearer " .. TOKEN }
  if body then
    lines[#lines + 1] = "Content-Type: application/json"
    lines[#lines + 1] = "Content-Length: " .. #body
  end
  assert(c:send(table.concat(lines, "\r\n") .. "\r\n\r\n" .. (body or "")))
end

-- Reads one answer; returns status, body, headers (lower-cased names), or
-- nil and the error of the first read (e.g. "closed").
local function read_response(c)
  local line, err = c:receive("*l")
  if not line then return nil, err end
  local status = tonumber(line:match("^HTTP/1%.1 (%d%d%d)"))
  local headers = {}
  while true do
    local h = assert(c:receive("*l"))
    if h == "" then break end
    local name, value = h:match("^([^:]+):%s*(.*)$")
    headers[name:lower()] = value
  end
  local body = assert(c:receive(tonumber(headers["content-length"])))
  return status, body, headers
end

describe("sandbox faults over HTTP", function()
  local sb, url, port

  lazy_setup(function()
    sb = sandbox_process.start()
    url = sb.url
    port = tonumber(url:match(":(%d+)$"))
  end)

  lazy_teardown(function()
    if sb then sb:stop() end
    shell.sh("rm -rf " .. q(tmp))
  end)

  before_each(function()
    control(url, "POST", "/_sandbox/reset")
  end)

  local function fault(spec)
    return control(url, "POST", "/_sandbox/faults", spec).fault
  end

  local function ledger()
    return control(url, "GET", "/_sandbox/ledger").ledger
  end

  it("drop: the connection closes without one byte (curl 52)", function()
    fault { path = ME, action = "drop" }
    local r = curl(url, ME, { extra = "-v" })
    assert.are.equal(52, r.rc)
    assert.truthy(r.err:find("Empty reply from server", 1, true))
    assert.falsy(r.err:find("< HTTP/", 1, true))
    assert.are.equal("", r.headers)
    -- the server goes on serving
    assert.are.equal(200, curl(url, ME).code)
  end)

  it("drop: also after a 100 Continue, and after delay_ms", function()
    fault { method = "POST", path = PURCHASE, action = "drop", delay_ms = 400 }
    local big = BUY:sub(1, -2) .. string.rep(" ", 2000) .. "}" -- > 1 KiB: curl sends Expect
    local r = curl(url, PURCHASE, { body = big })
    assert.are.equal(52, r.rc)
    assert.truthy(r.time >= 0.35, "dropped after " .. r.time .. " s")
    assert.are.same({}, ledger())
  end)

  it("truncate: full Content-Length, half the body, then close (curl 18)", function()
    fault { path = ME, action = "truncate" }
    local r = curl(url, ME)
    assert.are.equal(18, r.rc)
    assert.truthy(r.err:find("transfer closed with 40 bytes remaining to read", 1, true), r.err)
    assert.are.equal(200, r.code)
    assert.truthy(r.headers:find("content-length: 80", 1, true))
    assert.are.equal('{"active_orders":4,"email":"dev@sandbox.', r.body)
    -- a canned answer is truncated the same way
    fault { path = ME, action = "truncate", status = 502, content_type = "text/html",
      body = "<html>0123456789</html>" }
    r = curl(url, ME)
    assert.are.same({ 18, 502, "<html>01234" }, { r.rc, r.code, r.body })
    assert.truthy(r.err:find("with 12 bytes remaining", 1, true), r.err)
  end)

  it("stall: headers, then nothing (curl --max-time 1: 28); others are served meanwhile", function()
    fault { path = ME, action = "stall" } -- 30 s by default
    local slow = assert(io.popen(("curl -sS --max-time 1 -D - -H %s %s 2>&1; echo \"rc=$?\""):format(
      q("Authorization: Bearer " .. TOKEN), q(url .. ME))))
    os.execute("sleep 0.2")
    local fast = curl(url, "/user/api/orders/12345")
    -- answered within its own 10 s: a sandbox held up by the stall (30 s)
    -- would not have answered in time (no clock bound: valgrind and a busy
    -- machine are slow)
    assert.are.same({ 0, 200 }, { fast.rc, fast.code })
    local out = slow:read("a")
    slow:close()
    assert.truthy(out:find("rc=28", 1, true), out)
    assert.truthy(out:find("HTTP/1.1 200", 1, true), out)
    assert.truthy(out:find("Operation timed out", 1, true), out)
  end)

  it("stall: the connection closes after stall_ms (curl 18, nothing of the body)", function()
    fault { path = ME, action = "stall", stall_ms = 500 }
    local r = curl(url, ME)
    assert.are.equal(18, r.rc)
    assert.truthy(r.err:find("transfer closed with 80 bytes remaining", 1, true), r.err)
    -- not before stall_ms; and closed by the sandbox (18), not left to
    -- curl's own 10 s (28) as the default 30 s stall would be
    assert.truthy(r.time >= 0.45, "closed after " .. r.time .. " s")
  end)

  it("oversize: 200 application/json of exactly `size` bytes (default 2 MiB)", function()
    fault { path = ME, action = "oversize" }
    local r = curl(url, ME)
    assert.are.same({ 0, 200, 2097152, 2097152 }, { r.rc, r.code, r.size, #r.body })
    assert.truthy(r.headers:find("content-type: application/json", 1, true))
    assert.truthy(r.headers:find("content-length: 2097152", 1, true))
    assert.is_true(cjson.decode(r.body).success)
    fault { path = ME, action = "oversize", size = 1234 }
    r = curl(url, ME)
    assert.are.same({ 200, 1234 }, { r.code, #r.body })
  end)

  it("commit=true + drop: the ledger has the charge though the client saw nothing", function()
    local rule = fault { method = "POST", path = PURCHASE, action = "drop", commit = true }
    local r = curl(url, PURCHASE, { body = BUY })
    assert.are.equal(52, r.rc)
    local l = ledger()
    assert.are.equal(1, #l)
    assert.are.same({ 12345, 1, 30 }, { l[1].order_id, l[1].qty, l[1].amount_cents })
    assert.are.equal(9970, cjson.decode(curl(url, ME).body).wallet_balance)
    local log = control(url, "GET", "/_sandbox/requests").requests
    assert.are.same({ rule.id, true }, { log[1].fault, log[1].committed })
  end)

  it("commit=false + drop: no charge", function()
    fault { method = "POST", path = PURCHASE, action = "drop" }
    assert.are.equal(52, curl(url, PURCHASE, { body = BUY }).rc)
    assert.are.same({}, ledger())
    assert.are.equal(10000, cjson.decode(curl(url, ME).body).wallet_balance)
    local log = control(url, "GET", "/_sandbox/requests").requests
    assert.is_false(log[1].committed)
    assert.is_true(log[2].committed)
  end)

  it("works on every route: a new order dropped before and after the charge", function()
    local buy_order = "/user/api/orders/purchase"
    local body = '{"product":"ISP Proxy","location":"US","cycle":"monthly","quantity":2}'
    local function order_20000() return curl(url, "/user/api/orders/20000").code end
    fault { method = "POST", path = buy_order, action = "drop" }
    assert.are.equal(52, curl(url, buy_order, { body = body }).rc)
    assert.are.same({ {}, 404 }, { ledger(), order_20000() })
    fault { method = "POST", path = buy_order, action = "drop", commit = true }
    assert.are.equal(52, curl(url, buy_order, { body = body }).rc)
    local l = ledger()
    assert.are.same({ 1, "order", 20000, 800 }, { #l, l[1].kind, l[1].order_id, l[1].amount_cents })
    assert.are.equal(200, order_20000())
    -- the exact path only: /orders/calculate and /orders/{id} are other routes
    fault { path = buy_order, status = 503, times = 0 }
    assert.are.equal(200, curl(url, "/user/api/orders/calculate?product=ISP%20Proxy&cycle=monthly").code)
    assert.are.equal(503, curl(url, buy_order, { body = body }).code)
  end)

  it("works on the routes that take no token", function()
    fault { path = "/health/live", action = "drop" }
    assert.are.equal(52, curl(url, "/health/live", { token = false }).rc)
    local r = curl(url, "/health/live", { token = false })
    assert.are.same({ 0, 200, "Service is up" }, { r.rc, r.code, r.body })
  end)

  it("commit=true + a 502 HTML answer: charged, the client sees the 502", function()
    fault { method = "POST", path = PURCHASE, status = 502, content_type = "text/html",
      body = "<html><h1>502 Bad Gateway</h1></html>", commit = true }
    local r = curl(url, PURCHASE, { body = BUY })
    assert.are.same({ 0, 502, "<html><h1>502 Bad Gateway</h1></html>" }, { r.rc, r.code, r.body })
    assert.truthy(r.headers:find("content-type: text/html", 1, true))
    assert.are.equal(1, #ledger())
  end)

  it("commit=true + truncate: charged, half of the real answer", function()
    fault { method = "POST", path = PURCHASE, action = "truncate", commit = true }
    local r = curl(url, PURCHASE, { body = BUY })
    assert.are.same({ 18, 200 }, { r.rc, r.code })
    assert.truthy(r.body:find('{"addons":[', 1, true) == 1, r.body)
    assert.are.equal(1, #ledger())
  end)

  describe('commit = "after_delay"', function()
    local function order_qty()
      return cjson.decode(curl(url, "/user/api/orders/12345").body).order.addons[1].qty
    end

    local function requests()
      return control(url, "GET", "/_sandbox/requests").requests
    end

    it("a client that gave up after 1 s is charged 2.5 s after its request, exactly once", function()
      local rule = fault { method = "POST", path = PURCHASE, delay_ms = 2500, commit = "after_delay" }
      local t0 = socket.gettime()
      local r = curl(url, PURCHASE, { body = BUY, max_time = 1 })
      assert.are.equal(28, r.rc) -- curl's own timeout: it gave up and closed the connection
      -- what a reconciling client sees when it re-reads: nothing happened yet
      assert.are.equal(3, order_qty())
      assert.are.same({}, ledger())

      local charges = wait_for(function()
        local l = ledger()
        return #l > 0 and l
      end, 5)
      local landed = socket.gettime() - t0
      assert.is_table(charges, "no charge within 5 s")
      assert.truthy(landed >= 2.4, "landed after " .. landed .. " s")
      local log = requests()
      assert.are.same({ "POST", "GET" }, { log[1].method, log[2].method })
      assert.are.same({ rule.id, true }, { log[1].fault, log[1].committed })
      -- the ledger says when: request 1's charge, after request 2 (the re-read)
      -- had come, 2.5 s after request 1 on the sandbox's clock
      local c = charges[1]
      assert.are.same({ 1, 2, 30 }, { c.request, c.requests_seen, c.amount_cents })
      local waited = c.at_ms - log[1].at_ms
      -- not before the delay (and, by wait_for, within 5 s of the request)
      assert.truthy(waited >= 2500, "charged " .. waited .. " ms after the request")
      assert.truthy(log[2].at_ms < c.at_ms)

      -- once only, and the sandbox serves on after writing to a closed connection
      socket.sleep(1)
      assert.are.equal(1, #ledger())
      assert.are.equal(4, order_qty())
      assert.are.equal(9970, cjson.decode(curl(url, ME).body).wallet_balance)
    end)

    it("a client that resets the connection (RST) during the wait is charged too", function()
      fault { method = "POST", path = PURCHASE, delay_ms = 800, commit = "after_delay", action = "drop" }
      local c = connect(port)
      send_request(c, "POST", PURCHASE, BUY)
      socket.sleep(0.2)
      assert(c:setoption("linger", { on = true, timeout = 0 })) -- close() now sends an RST
      c:close()
      assert.are.same({}, ledger())
      local charges = wait_for(function()
        local l = ledger()
        return #l > 0 and l
      end, 3)
      assert.is_table(charges, "no charge within 3 s")
      assert.are.equal(1, #charges)
      assert.are.equal(200, curl(url, ME).code)
    end)

    it("the client that waits long enough gets the real answer, after the delay", function()
      fault { method = "POST", path = PURCHASE, delay_ms = 600, commit = "after_delay" }
      local r = curl(url, PURCHASE, { body = BUY })
      assert.are.same({ 0, 200 }, { r.rc, r.code })
      assert.truthy(r.time >= 0.55, "answered after " .. r.time .. " s")
      assert.are.equal(4, cjson.decode(r.body).addons[1].qty)
      assert.are.equal(1, #ledger())
    end)

    -- 1001 / 1000 * 1000 is not a whole number: logging it with %d raised
    -- after the charge, and the client got a 503 for a purchase that was made
    it("a delay that is not a whole number of ms once divided still gets its real answer", function()
      fault { method = "POST", path = PURCHASE, delay_ms = 1001, commit = "after_delay" }
      local r = curl(url, PURCHASE, { body = BUY })
      assert.are.same({ 0, 200 }, { r.rc, r.code })
      assert.are.equal(1, #ledger())
    end)

    it("a reset during the wait cancels it: no charge, the waiting client gets a 503", function()
      fault { method = "POST", path = PURCHASE, delay_ms = 1000, commit = "after_delay" }
      local slow = assert(io.popen(("curl -sS --max-time 5 -H %s -H 'Content-Type: application/json'"
        .. " --data-binary %s -w '\n%%{http_code}' %s 2>&1"):format(
        q("Authorization: Bearer " .. TOKEN), q(BUY), q(url .. PURCHASE))))
      socket.sleep(0.3)
      control(url, "POST", "/_sandbox/reset")
      local out = slow:read("a")
      slow:close()
      local body, code = out:match("^(.*)\n(%d+)$")
      assert.are.equal("503", code, out)
      assert.are.equal(false, cjson.decode(body).success)
      assert.are.same({}, ledger())
      assert.are.equal(10000, cjson.decode(curl(url, ME).body).wallet_balance)
    end)
  end)

  it("Retry-After passes through untouched (seconds and HTTP-date)", function()
    local date = "Wed, 21 Oct 2026 07:28:00 GMT"
    fault { path = ME, status = 429, headers = { ["Retry-After"] = date } }
    fault { path = ME, status = 503, headers = { ["Retry-After"] = "2" } }
    local r = curl(url, ME)
    assert.are.equal(429, r.code)
    assert.truthy(r.headers:find("\nretry-after: " .. date .. "\r\n", 1, true), r.headers)
    r = curl(url, ME)
    assert.are.equal(503, r.code)
    assert.truthy(r.headers:find("\nretry-after: 2\r\n", 1, true), r.headers)
    assert.are.equal(false, cjson.decode(r.body).success)
  end)

  it("huge headers: N bytes of X-Pad-i headers on the answer", function()
    fault { path = ME, huge_headers = 50000 }
    local r = curl(url, ME)
    assert.are.same({ 0, 200 }, { r.rc, r.code })
    local total, count = 0, 0
    for value in r.headers:gmatch("\nx%-pad%-%d+: (p*)\r") do
      total, count = total + #value, count + 1
    end
    assert.are.same({ 50000, 50 }, { total, count })
    assert.are.equal(10000, cjson.decode(r.body).wallet_balance)
  end)

  it("GET then POST on one kept-alive connection: the drop closes only that one", function()
    fault { method = "POST", path = PURCHASE, action = "drop", commit = true }
    local other = connect(port)
    send_request(other, "GET", ME)
    assert.are.equal(200, (read_response(other)))

    local c = connect(port)
    send_request(c, "GET", ME)
    local status, body = read_response(c)
    assert.are.equal(200, status)
    assert.are.equal(10000, cjson.decode(body).wallet_balance)
    send_request(c, "POST", PURCHASE, BUY)
    local none, err = read_response(c)
    assert.is_nil(none)
    assert.are.equal("closed", err)
    c:close()

    -- exactly one charge, and the other kept-alive connection still works
    assert.are.equal(1, #ledger())
    send_request(other, "GET", ME)
    status, body = read_response(other)
    assert.are.equal(200, status)
    assert.are.equal(9970, cjson.decode(body).wallet_balance)
    other:close()
    -- and new connections too
    assert.are.equal(200, curl(url, ME).code)
  end)

  it("lists rules with hit counts; the request log names the rule", function()
    local a = fault { path = ME, action = "truncate", times = 2 }
    curl(url, ME)
    curl(url, ME)
    curl(url, ME)
    local list = control(url, "GET", "/_sandbox/faults")
    assert.are.same({}, list.faults)
    assert.are.same({ a.id, 2, "truncate" }, { list.spent[1].id, list.spent[1].hits, list.spent[1].action })
    local log = control(url, "GET", "/_sandbox/requests").requests
    assert.are.same({ a.id, a.id }, { log[1].fault, log[2].fault })
    assert.is_nil(log[3].fault)
  end)

  it("refuses a bad rule with 400 and a message", function()
    local r = curl(url, "/_sandbox/faults", { method = "POST", token = false,
      body = '{"path":"/user/api/me","action":"explode"}' })
    assert.are.equal(400, r.code)
    assert.truthy(cjson.decode(r.body).message:find("action must be one of", 1, true))
    r = curl(url, "/_sandbox/faults", { method = "POST", token = false,
      body = '{"path":"/user/api/me","commit":"yes"}' })
    assert.are.equal(400, r.code)
  end)
end)
