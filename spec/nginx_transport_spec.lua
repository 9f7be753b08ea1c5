-- The nginx transports, unit-tested with a stand-in `ngx` (phases,
-- ngx.location.capture, light threads on a simulated clock) and a stand-in
-- lua-resty-http with the streaming API of the real 0.17 (new, set_timeouts,
-- parse_uri, connect, send_request, read_response, the body reader,
-- set_keepalive, close). The real ones are exercised in spec/nginx_spec.lua.
local json = require "proxyshard.wire.json"

local unpack = table.unpack or unpack -- luacheck: ignore (LuaJIT)

local phase
local captures -- what ngx.location.capture got; it answers `captures.queue` in order, then `captures.answer`
local clock -- simulated seconds: the stand-ins below advance it
local slept -- ngx.sleep outside a light thread (the client's backoff)
local server -- what the stand-in lua-resty-http answers, and what it saw

-- Light threads: each a coroutine; an operation that takes time yields the
-- seconds it takes, and ngx.thread.wait runs the thread due first.
local threads = setmetatable({}, { __mode = "k" }) -- coroutine → thread

local function takes(seconds)
  if seconds and seconds > 0 then coroutine.yield(seconds) end
end

local function pack(...)
  return { n = select("#", ...), ... }
end

local function step(t, ...)
  local res = pack(coroutine.resume(t.co, ...))
  if coroutine.status(t.co) == "dead" then
    t.dead, t.result = true, res
  else
    t.wake = clock + res[2]
  end
end

local thread = {
  spawn = function(fn, ...)
    local t = { co = coroutine.create(fn) }
    threads[t.co] = t
    step(t, ...)
    return t
  end,
  wait = function(...)
    local ts = { ... }
    while true do
      for _, t in ipairs(ts) do
        if t.dead then return unpack(t.result, 1, t.result.n) end
      end
      local due
      for _, t in ipairs(ts) do
        if not t.killed and (not due or t.wake < due.wake) then due = t end
      end
      clock = math.max(clock, due.wake)
      step(due)
    end
  end,
  kill = function(t)
    t.killed = true
    return true
  end,
}

local function fake_ngx()
  return {
    get_phase = function() return phase end,
    HTTP_GET = 1, HTTP_POST = 8, HTTP_PUT = 4, HTTP_PATCH = 16, HTTP_DELETE = 32,
    sleep = function(s)
      local co = coroutine.running()
      if co and threads[co] then return takes(s) end
      slept[#slept + 1] = s
      clock = clock + s
    end,
    now = function() return clock end,
    update_time = function() end,
    time = function() return 1795000000 end,
    config = { ngx_lua_version = 10023 },
    thread = thread,
    location = {
      capture = function(uri, opts)
        captures[#captures + 1] = { uri = uri, opts = opts }
        clock = clock + (captures.takes or 0)
        local queued = captures.queue and table.remove(captures.queue, 1)
        return queued or captures.answer or { status = 200, header = { ["Content-Type"] = "application/json" },
          body = '{"success":true,"order":{"order_id":12345}}' }
      end,
    },
  }
end

-- A body reader like lua-resty-http's: up to `max` bytes a call; nil at
-- the end. `a.body` or `a.size` bytes of "x"; `a.chunk_takes` seconds a
-- call; `a.drip`: one byte a call; `a.ends_with`: the error of the last
-- call ("closed" for an answer that ends at the close).
local function body_reader(a)
  local pos, size, ended = 0, a.size or #a.body, false
  return function(max)
    takes(a.chunk_takes)
    if pos >= size then
      if a.ends_with and not ended then
        ended = true
        return "", a.ends_with
      end
      return nil
    end
    local n = math.min(max, size - pos, a.drip and 1 or size)
    local piece = a.body and a.body:sub(pos + 1, pos + n) or ("x"):rep(n)
    pos = pos + n
    server.handed = server.handed + n
    return piece
  end
end

local fake_resty = {
  transfer_encoding_is_chunked = function(headers)
    local te = headers["Transfer-Encoding"]
    return te ~= nil and te:lower():find("chunked", 1, true) ~= nil
  end,
  new = function()
    local c = { calls = {} }
    server.clients[#server.clients + 1] = c
    local function log(...) c.calls[#c.calls + 1] = { ... } end
    function c.set_timeouts(_, connect, send, read) log("set_timeouts", connect, send, read) end
    function c.parse_uri(_, uri)
      local scheme, host, port, path = uri:match("^(https?)://([^/:]+):?(%d*)(.*)$")
      return { scheme, host, tonumber(port) or (scheme == "https" and 443 or 80), path ~= "" and path or "/" }
    end
    function c.connect(_, opts)
      log("connect", opts)
      takes(server.connect_takes)
      if server.connect_err then return nil, server.connect_err end
      return true
    end
    function c.get_reused_times() return server.reused or 0 end
    function c.send_request(_, params)
      log("send_request", params)
      takes(server.send_takes)
      if server.send_err then return nil, server.send_err end
      return true
    end
    function c.read_response()
      log("read_response")
      local a = assert(table.remove(server.answers, 1), "no answer left")
      takes(a.takes)
      if a.err then return nil, a.err end
      local has_body = a.status >= 200 and a.status ~= 204 and (a.body ~= nil or a.size ~= nil)
      return { status = a.status, headers = a.headers or {}, has_body = has_body,
        body_reader = has_body and body_reader(a) or nil }
    end
    function c.set_keepalive(_, timeout, pool)
      log("set_keepalive", timeout, pool)
      if server.keepalive_err then return nil, server.keepalive_err end
      return 1
    end
    function c.close()
      log("close")
      return 1
    end
    return c
  end,
}

-- The names of the calls client `c` (default: the last) got, in order.
local function names(c)
  c = c or server.clients[#server.clients]
  local out = {}
  for i, call in ipairs(c.calls) do out[i] = call[1] end
  return out
end

local function call_of(name, c)
  c = c or server.clients[#server.clients]
  for _, call in ipairs(c.calls) do
    if call[1] == name then return call end
  end
end

local function fresh_modules()
  for name in pairs(package.loaded) do
    if name:find("^proxyshard") and name ~= "proxyshard.core" then package.loaded[name] = nil end
  end
  return require "proxyshard"
end

local ORDER_JSON = '{"success":true,"order":{"order_id":12345}}'
-- the quote a purchase of `qty` p0f slots gets first
local function quote_json(qty)
  return ('{"success":true,"addon_key":"p0f_slots","price_per_unit":30,"add_qty":%d,"add_total":%d}'):format(qty,
    30 * qty)
end

local function json_answer(body, extra)
  local a = { status = 200, headers = { ["Content-Type"] = "application/json",
    ["Content-Length"] = tostring(#body) }, body = body }
  for k, v in pairs(extra or {}) do a[k] = v end
  return a
end

describe("inside nginx", function()
  local saved_ngx

  before_each(function()
    saved_ngx = rawget(_G, "ngx")
    _G.ngx = fake_ngx()
    captures, slept, clock = {}, {}, 1000
    server = { clients = {}, answers = {}, handed = 0 }
    phase = "content"
  end)

  after_each(function()
    _G.ngx = saved_ngx
    package.loaded["resty.http"] = nil
    fresh_modules()
  end)

  describe("with only a subrequest location", function()
    it("goes through ngx.location.capture, headers as variables", function()
      local proxyshard = fresh_modules()
      local client = proxyshard.new { token = "tok_nginx_spec_secret", subrequest_location = "/proxyshard/" }
      local info = assert(client:order(12345):fetch())
      assert.are.equal(12345, info.order_id)
      local c = captures[1]
      assert.are.equal("/proxyshard/user/api/orders/12345", c.uri)
      assert.are.equal(1, c.opts.method)
      assert.are.equal("Bearer tok_nginx_spec_secret", c.opts.vars.proxyshard_authorization)
      assert.matches("^proxyshard%-lua/.* ngx_lua/10023%)$", c.opts.vars.proxyshard_user_agent)
      assert.are.equal("", c.opts.vars.proxyshard_content_type)
    end)

    it("sends a purchase as a POST with its JSON body and query strings intact", function()
      local proxyshard = fresh_modules()
      local client = proxyshard.new { token = "tok_nginx_spec_secret", subrequest_location = "/ps" }
      captures.queue = { { status = 200, header = {}, body = quote_json(2) },
        { status = 200, header = {}, body = '{"success":true,"addons_price_paid":150}' } }
      assert(client:order(12345):addon("p0f_slots"):purchase(2))
      assert.are.equal(2, #captures)
      -- priced first: the quote, a GET with its query string intact
      assert.are.equal("/ps/user/api/orders/12345/addons/calculate?addon_key=p0f_slots&add_qty=2", captures[1].uri)
      assert.are.equal(1, captures[1].opts.method)
      assert.are.equal("/ps/user/api/orders/12345/addons/purchase", captures[2].uri)
      assert.are.equal(8, captures[2].opts.method)
      assert.are.equal('{"add_qty":2,"addon_key":"p0f_slots"}', captures[2].opts.body)
      assert.are.equal("application/json", captures[2].opts.vars.proxyshard_content_type)
      captures.answer = { status = 200, header = {}, body = '{"success":true,"add_qty":2,"add_total":60}' }
      assert(client:order(12345):addon("p0f_slots"):quote(2))
      assert.are.equal("/ps/user/api/orders/12345/addons/calculate?addon_key=p0f_slots&add_qty=2", captures[3].uri)
    end)

    it("makes a cut-short answer to a purchase an unknown outcome", function()
      local proxyshard = fresh_modules()
      local client = proxyshard.new { token = "tok_nginx_spec_secret", subrequest_location = "/ps" }
      captures.queue = { { status = 200, header = {}, body = quote_json(2) } }
      captures.answer = { status = 200, header = {}, body = '{"succ', truncated = true }
      local receipt, err = client:order(12345):addon("p0f_slots"):purchase(2)
      assert.is_nil(receipt)
      assert.are.equal("unknown_outcome", err.kind)
      -- the quote, then the purchase once
      assert.are.equal(2, #captures)
      assert.are.same({ 1, 8 }, { captures[1].opts.method, captures[2].opts.method })
      assert.are.equal("/ps/user/api/orders/12345/addons/purchase", captures[2].uri)
    end)

    describe("the transport itself", function()
      local function transport(cap)
        fresh_modules()
        return require("proxyshard.transport.subrequest").new { location = "/ps", max_response_bytes = cap }
      end
      local req = { method = "GET", url = "https://user-api.proxyshard.com/user/api/me", headers = {},
        timeout = 1, connect_timeout = 1 }

      it("returns an answer that came after req.timeout as it is, with the time it took", function()
        captures.takes = 4.5
        captures.answer = { status = 200, header = { ["Content-Type"] = "application/json" }, body = "{}" }
        local res, err = transport():request(req)
        assert.is_nil(err)
        assert.are.same({ 200, "{}", "application/json", 4.5 },
          { res.status, res.body, res.headers["content-type"], res.total_time })
      end)

      it("names nginx's own cut-short 504 a timeout, a 1xx an interim answer taken for the final one", function()
        captures.answer = { status = 504, header = {}, body = "", truncated = true }
        local _, err = transport():request(req)
        assert.are.same({ "timeout", true }, { err.kind, err.request_sent })
        assert.matches("proxy_*_timeout", err.message, 1, true)
        captures.answer = { status = 103, header = {}, body = "", truncated = true }
        _, err = transport():request(req)
        assert.are.same({ "network", true }, { err.kind, err.request_sent })
        assert.matches("HTTP 103: nginx's proxy module took an interim answer", err.message, 1, true)
        captures.answer = { status = 502, header = {}, body = "", truncated = true }
        _, err = transport():request(req)
        assert.are.equal("the answer was cut short (HTTP 502)", err.message)
      end)

      it("refuses an answer over max_response_bytes (read whole by nginx first)", function()
        captures.answer = { status = 200, header = {}, body = ("x"):rep(101) }
        local res, err = transport(100):request(req)
        assert.is_nil(res)
        assert.are.same({ "too_large", true }, { err.kind, err.request_sent })
        assert.matches("max_response_bytes (100): 101 bytes", err.message, 1, true)
        captures.answer = { status = 200, header = {}, body = ("x"):rep(100) }
        assert.are.equal(100, #transport(100):request(req).body)
      end)
    end)

    for _, p in ipairs({ "init_worker", "set", "log", "header_filter", "body_filter", "timer" }) do
      it("refuses the " .. p .. " phase with a clear error and sends nothing", function()
        local proxyshard = fresh_modules()
        local client = proxyshard.new { token = "tok_nginx_spec_secret", subrequest_location = "/ps" }
        phase = p
        local info, err = client:order(12345):fetch()
        assert.is_nil(info)
        assert.are.equal("phase", err.kind)
        assert.matches("in nginx's " .. p .. " phase", err.message, 1, true)
        assert.matches("ngx.timer.at", err.message, 1, true)
        assert.are.equal(1, err.attempts)
        assert.are.equal(0, #captures)
      end)
    end
  end)

  describe("the lua-resty-http transport", function()
    local function transport(opts)
      package.loaded["resty.http"] = fake_resty
      fresh_modules()
      return require("proxyshard.transport.resty_http").new(opts or { max_response_bytes = 1000 })
    end

    local function request(t, extra)
      local req = { method = "GET", url = "https://user-api.proxyshard.com/user/api/orders/12345?x=1",
        headers = { "Authorization: Bearer tok_secret", "Accept: application/json" },
        timeout = 7, connect_timeout = 2 }
      for k, v in pairs(extra or {}) do req[k] = v end
      return t:request(req)
    end

    it("connects with TLS verified, sends the request, and pools a cleanly read answer", function()
      server.answers = { json_answer(ORDER_JSON) }
      local res, err = request(transport(), { method = "POST", body = '{"add_qty":2}', no_resend = true,
        headers = { "Authorization: Bearer tok_secret", "Content-Type: application/json" } })
      assert.is_nil(err)
      assert.are.same({ 200, ORDER_JSON, "application/json" }, { res.status, res.body, res.headers["content-type"] })
      local opts = call_of("connect")[2]
      assert.are.same({ "https", "user-api.proxyshard.com", 443, true, "user-api.proxyshard.com", 64 },
        { opts.scheme, opts.host, opts.port, opts.ssl_verify, opts.ssl_server_name, opts.pool_size })
      local params = call_of("send_request")[2]
      assert.are.same({ "POST", "/user/api/orders/12345?x=1", '{"add_qty":2}', "Bearer tok_secret",
        "application/json" }, { params.method, params.path, params.body, params.headers.Authorization,
        params.headers["Content-Type"] })
      assert.are.same({ "set_keepalive", 60000, 64 }, call_of("set_keepalive"))
      assert.is_nil(call_of("close"))
      assert.are.equal(1, #server.clients) -- one try: nothing is ever sent twice
    end)

    it("cuts the socket timeouts to the time left of req.timeout before each step", function()
      server.connect_takes, server.send_takes = 1.5, 1
      server.answers = { json_answer(ORDER_JSON, { takes = 0.5, chunk_takes = 0.25 }) }
      assert(request(transport()))
      local timeouts = {}
      for _, call in ipairs(server.clients[1].calls) do
        if call[1] == "set_timeouts" then timeouts[#timeouts + 1] = { call[2], call[3], call[4] } end
      end
      assert.are.same({
        { 2000, 7000, 7000 }, -- connect: connect_timeout
        { 5500, 5500, 5500 }, -- send, 1.5 s later
        { 4500, 4500, 4500 }, -- status and headers
        { 4000, 4000, 4000 }, -- the body
        { 3750, 3750, 3750 }, -- the end of the body
      }, timeouts)
    end)

    it("reads past interim answers (103 Early Hints, 100) to the final one", function()
      server.answers = {
        { status = 103, headers = { Link = "</hints.css>; rel=preload" } },
        { status = 100 },
        json_answer('{"success":true,"addons_price_paid":150}'),
      }
      local res = assert(request(transport(), { method = "POST", body = "{}", no_resend = true }))
      assert.are.equal(200, res.status)
      assert.are.equal('{"success":true,"addons_price_paid":150}', res.body)
      assert.is_nil(res.headers.link) -- the interim answer's headers are not the answer's
      assert.are.same({ "set_timeouts", "connect", "set_timeouts", "send_request", "set_timeouts", "read_response",
        "set_timeouts", "read_response", "set_timeouts", "read_response", "set_timeouts", "set_timeouts",
        "set_keepalive" }, names())
      assert.are.equal(0, #server.answers)
    end)

    it("refuses a Content-Length over max_response_bytes without reading the body, and closes", function()
      server.answers = { { status = 200, headers = { ["Content-Length"] = "1000000000" }, size = 1e9 } }
      local res, err = request(transport())
      assert.is_nil(res)
      assert.are.same({ "too_large", true }, { err.kind, err.request_sent })
      assert.matches("max_response_bytes (1000): Content-Length 1000000000", err.message, 1, true)
      assert.are.equal(0, server.handed)
      assert.is_nil(call_of("set_keepalive"))
      assert.truthy(call_of("close"))
    end)

    for _, case in ipairs {
      { "chunked", { ["Transfer-Encoding"] = "chunked" } },
      { "ending at the close", {} },
    } do
      it("streams a " .. case[1] .. " answer and stops one byte past max_response_bytes", function()
        server.answers = { { status = 200, headers = case[2], size = 1e9 } }
        local _, err = request(transport())
        assert.are.equal("too_large", err.kind)
        assert.are.equal(1001, server.handed)
        assert.is_nil(call_of("set_keepalive"))
        assert.truthy(call_of("close"))
      end)
    end

    it("ends an attempt at req.timeout while bytes keep dripping, and drops the connection", function()
      local started = clock
      server.answers = { json_answer(ORDER_JSON, { drip = true, chunk_takes = 0.25 }) }
      local res, err = request(transport(), { timeout = 2 })
      assert.is_nil(res)
      assert.are.same({ "timeout", true }, { err.kind, err.request_sent })
      assert.matches("within timeout = 2 s (while reading the answer)", err.message, 1, true)
      assert.are.equal(2, clock - started)
      assert.is_true(server.handed < #ORDER_JSON)
      assert.is_nil(call_of("set_keepalive"))
      assert.truthy(call_of("close"))
    end)

    it("ends a dripped status line and headers there too", function()
      local started = clock
      server.answers = { json_answer(ORDER_JSON, { takes = 30 }) } -- headers trickling in for 30 s
      local _, err = request(transport(), { timeout = 2 })
      assert.are.equal("timeout", err.kind)
      assert.are.equal(2, clock - started)
    end)

    it("says a request was not sent when the time ran out while connecting", function()
      server.connect_takes = 5
      local _, err = request(transport(), { timeout = 2 })
      assert.are.same({ "timeout", false }, { err.kind, err.request_sent })
      assert.matches("while connecting", err.message, 1, true)
      assert.is_nil(call_of("send_request"))
    end)

    it("closes instead of pooling: an answer ending at the close, or one set_keepalive refuses", function()
      server.answers = { { status = 200, headers = {}, body = ORDER_JSON, ends_with = "closed" } }
      local res = assert(request(transport()))
      assert.are.equal(ORDER_JSON, res.body)
      assert.is_nil(call_of("set_keepalive"))
      assert.truthy(call_of("close"))

      server.answers = { json_answer(ORDER_JSON) }
      server.keepalive_err = "unread data in buffer" -- bytes after the answer
      assert(request(transport()))
      assert.are.same({ "set_keepalive", "close" }, { names()[#names() - 1], names()[#names()] })
    end)

    it("takes an answer ending at the close that stops without \"closed\" for the timeout it is", function()
      -- lua-resty-http's reader ends such a body quietly on a read timeout
      server.answers = { { status = 200, headers = {}, body = '{"success":tr' } }
      local res, err = request(transport())
      assert.is_nil(res)
      assert.are.same({ "timeout", true }, { err.kind, err.request_sent })
    end)

    it("maps lua-resty-http's failures, never with the token in them", function()
      local cases = {
        { "connect_err", "connection refused", "network", false },
        { "connect_err", "timeout", "timeout", false },
        { "connect_err", "handshake failed", "tls", false },
        { "connect_err", "20: unable to get local issuer certificate", "tls", false },
        { "connect_err", "certificate host mismatch", "tls", false },
        { "connect_err", "no resolver defined to resolve \"user-api.proxyshard.com\"", "network", false },
        { "send_err", "broken pipe", "network", true },
        { "read", "closed", "network", true },
        { "read", "timeout", "timeout", true },
      }
      for _, case in ipairs(cases) do
        server = { clients = {}, answers = {}, handed = 0 }
        if case[1] == "read" then server.answers = { { err = case[2] } } else server[case[1]] = case[2] end
        local res, err = request(transport())
        assert.is_nil(res)
        assert.are.same({ case[3], case[4] }, { err.kind, err.request_sent }, case[2])
        assert.is_nil(err.message:find("tok_secret", 1, true))
        assert.are.equal(case[2]:find("resolve", 1, true) ~= nil, err.resolve_failed == true, case[2])
        assert.truthy(call_of("close"), case[2])
      end
    end)

    it("passes a programmer error in the attempt on as an error", function()
      local t = transport()
      assert.has_error(function() request(t, { headers = false }) end)
    end)
  end)

  describe("with lua-resty-http installed", function()
    before_each(function() package.loaded["resty.http"] = fake_resty end)

    it("pools as many connections, as long, as the client's keepalive options say", function()
      local proxyshard = fresh_modules()
      local client = proxyshard.new { token = "tok_nginx_spec_secret", keepalive_pool = 5, keepalive_timeout = 2.5 }
      phase = "content"
      server.answers = { json_answer(ORDER_JSON) }
      assert(client:order(12345):fetch())
      assert.are.equal(5, call_of("connect")[2].pool_size)
      assert.are.same({ "set_keepalive", 2500, 5 }, call_of("set_keepalive"))
      for _, bad in ipairs { { keepalive_pool = 0 }, { keepalive_pool = 1.5 }, { keepalive_timeout = 0 },
        { keepalive_pol = 3 } } do
        bad.token = "tok_nginx_spec_secret"
        local ok, err = pcall(proxyshard.new, bad)
        assert.is_false(ok)
        assert.are.equal("invalid_argument", err.kind)
      end
    end)

    it("is used, also in a timer, with the call's deadline as req.timeout", function()
      local proxyshard = fresh_modules()
      local client = proxyshard.new { token = "tok_nginx_spec_secret", timeout = 7, connect_timeout = 2 }
      phase = "timer"
      server.answers = { json_answer(ORDER_JSON) }
      assert(client:order(12345):fetch())
      local opts = call_of("connect")[2]
      assert.are.equal("user-api.proxyshard.com", opts.host)
      assert.is_true(opts.ssl_verify)
      assert.are.same({ "set_timeouts", 2000, 7000, 7000 }, server.clients[1].calls[1])
      assert.are.equal("Bearer tok_nginx_spec_secret", call_of("send_request")[2].headers.Authorization)
    end)

    it("makes a lost answer to a purchase an unknown outcome, sent once", function()
      local proxyshard = fresh_modules()
      local client = proxyshard.new { token = "tok_nginx_spec_secret" }
      server.answers = { json_answer(quote_json(1)), { err = "closed" } }
      local receipt, err = client:order(12345):addon("p0f_slots"):purchase(1)
      assert.is_nil(receipt)
      assert.are.equal("unknown_outcome", err.kind)
      -- one request a client: the quote, then the purchase, sent once
      assert.are.equal(2, #server.clients)
      local sent = {}
      for i, c in ipairs(server.clients) do
        local params = call_of("send_request", c)[2]
        sent[i] = params.method .. " " .. params.path
      end
      assert.are.same({ "GET /user/api/orders/12345/addons/calculate?addon_key=p0f_slots&add_qty=1",
        "POST /user/api/orders/12345/addons/purchase" }, sent)
      assert.are.equal(0, #server.answers)
    end)

    it("retries a GET whose attempt timed out only within the call's one deadline", function()
      local proxyshard = fresh_modules()
      local client = proxyshard.new { token = "tok_nginx_spec_secret", timeout = 3, base_delay = 0.5,
        random = function() return 0 end }
      local started = clock
      server.answers = { json_answer(ORDER_JSON, { takes = 30 }), json_answer(ORDER_JSON, { takes = 30 }) }
      local info, err = client:order(12345):fetch()
      assert.is_nil(info)
      assert.are.equal("timeout", err.kind)
      assert.is_true(clock - started <= 3, "took " .. (clock - started))
    end)

    it("still refuses a phase without cosockets", function()
      local proxyshard = fresh_modules()
      local client = proxyshard.new { token = "tok_nginx_spec_secret" }
      phase = "log"
      local info, err = client:order(12345):fetch()
      assert.is_nil(info)
      assert.are.equal("phase", err.kind)
      assert.are.equal(0, #server.clients)
    end)

    it("prefers lua-resty-http, and takes the subrequest when asked by name", function()
      local proxyshard = fresh_modules()
      local client = proxyshard.new { token = "tok_nginx_spec_secret", subrequest_location = "/ps",
        transport = "subrequest" }
      assert(client:order(12345):fetch())
      assert.are.equal(1, #captures)
      assert.are.equal(0, #server.clients)
      client = proxyshard.new { token = "tok_nginx_spec_secret", subrequest_location = "/ps" }
      server.answers = { json_answer(ORDER_JSON) }
      assert(client:order(12345):fetch())
      assert.are.equal(1, #server.clients)
      assert.are.equal(1, #captures)
    end)
  end)

  it("refuses to start without a non-blocking way, naming the blocking one", function()
    local proxyshard = fresh_modules()
    local ok, err = pcall(proxyshard.new, { token = "tok_nginx_spec_secret" })
    assert.is_false(ok)
    assert.matches("lua%-resty%-http or give subrequest_location", tostring(err))
    assert.matches("transport = \"curl\"", tostring(err), 1, true)
  end)

  it("uses blocking libcurl only when asked for by name", function()
    local proxyshard = fresh_modules()
    local client = proxyshard.new { token = "tok_nginx_spec_secret", transport = "curl",
      base_url = "http://127.0.0.1:1", max_retries = 0 }
    local info, err = client:order(12345):fetch()
    assert.is_nil(info)
    assert.are.equal("network", err.kind) -- libcurl tried, and nothing listens there
    assert.are.equal(0, #captures)
  end)

  it("sleeps with ngx.sleep between retries", function()
    local proxyshard = fresh_modules()
    local client = proxyshard.new { token = "tok_nginx_spec_secret", subrequest_location = "/ps",
      random = function() return 0 end }
    captures.answer = { status = 503, header = {}, body = json.encode { success = false, message = "busy" } }
    local _, err = client:order(12345):fetch()
    assert.are.equal(3, err.attempts)
    assert.are.same({ 0.5, 0.5 }, slept)
  end)
end)
