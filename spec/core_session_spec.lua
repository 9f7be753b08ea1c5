-- proxyshard.core.session over real HTTP on 127.0.0.1, against
-- spec/support/raw_http_server.lua (run as a separate lua5.4 process).
local ok, core = pcall(require, "proxyshard.core")
if not ok then
  package.cpath = "build/lib/?.so;" .. package.cpath
  core = require "proxyshard.core"
end
local cjson = require "cjson"
local socket = require "socket"
local shell = require "support.shell"

local SERVER = "spec/support/raw_http_server.lua"
local UA = "proxyshard-lua/test"

-- CURLcode values asserted below.
local CURLE_UNSUPPORTED_PROTOCOL = 1
local CURLE_COULDNT_CONNECT = 7
local CURLE_WRITE_ERROR = 23
local CURLE_OPERATION_TIMEDOUT = 28
local CURLE_GOT_NOTHING = 52
local CURLE_PEER_FAILED_VERIFICATION = 60
local CURLE_FILESIZE_EXCEEDED = 63
local CURLE_SEND_FAIL_REWIND = 65
local CURLE_SSL_CACERT_BADFILE = 77

-- Starts the test server; returns { port, pid, pipe }.
local function start_server(extra)
  return shell.start(("lua5.4 %s --lifetime 60 %s"):format(SERVER, extra or ""))
end

local stop_server = shell.stop

describe("proxyshard.core session", function()
  local srv, base

  lazy_setup(function()
    srv = start_server()
    base = "http://127.0.0.1:" .. srv.port
  end)

  lazy_teardown(function()
    stop_server(srv)
  end)

  local function session(opts)
    opts = opts or {}
    opts.timeout_ms = opts.timeout_ms or 5000
    return core.session(opts)
  end

  local function count(path)
    local s = session()
    local res = assert(s:perform { method = "GET", url = base .. "/count?path=" .. path })
    s:close()
    return cjson.decode(res.body).count
  end

  local function echo(s, req)
    req.url = req.url or base .. "/echo"
    local res, terr = s:perform(req)
    assert.is_nil(terr)
    assert.equal(200, res.status)
    return cjson.decode(res.body), res
  end

  describe("requests", function()
    it("GETs and returns status, lower-case headers, body, reused, total_time", function()
      local s = session()
      local seen, res = echo(s, { method = "GET", url = base .. "/echo?a=1&b=%20" })
      assert.equal("GET", seen.method)
      assert.equal("/echo?a=1&b=%20", seen.target)
      assert.equal("application/json", res.headers["content-type"])
      assert.equal(tostring(#res.body), res.headers["content-length"])
      assert.is_nil(res.headers["Content-Type"])
      assert.is_false(res.reused)
      assert.is_number(res.total_time)
      assert.is_true(res.total_time >= 0)
      assert.is_nil(seen.headers["content-length"])
      s:close()
    end)

    it("sends the path as built: dot segments are not squashed (CURLOPT_PATH_AS_IS)", function()
      local s = session()
      local seen = echo(s, { method = "GET", url = base .. "/echo/../echo/./x" })
      assert.equal("/echo/../echo/./x", seen.target)
      s:close()
    end)

    it("sends the User-Agent the request's headers give, and no other", function()
      local s = session()
      local seen = echo(s, { method = "GET", headers = { "User-Agent: " .. UA } })
      assert.equal(UA, seen.headers["user-agent"])
      s:close()
    end)

    it("sends the request headers in order and suppresses Expect", function()
      local s = session()
      local seen = echo(s, {
        method = "POST", body = ("x"):rep(100000),
        headers = { "X-First: 1", "Accept: application/json", "X-Last: 3" },
      })
      local names = {}
      for _, h in ipairs(seen.header_list) do
        if h[1]:match("^X%-") or h[1] == "Accept" then names[#names + 1] = h[1] end
      end
      assert.same({ "X-First", "Accept", "X-Last" }, names)
      assert.equal("application/json", seen.headers.accept)
      assert.is_nil(seen.headers.expect)
      assert.equal(100000, #seen.body)
      s:close()
    end)

    it("reuses the kept-alive connection for the next request", function()
      local s = session()
      local first, r1 = echo(s, { method = "GET" })
      local second, r2 = echo(s, { method = "GET" })
      assert.is_false(r1.reused)
      assert.is_true(r2.reused)
      assert.equal(first.conn, second.conn)
      assert.equal(2, second.nth)
      s:close()
    end)

    it("POSTs a body with Content-Length, no chunking, no default Content-Type", function()
      local s = session()
      local seen = echo(s, { method = "POST", body = '{"a":1}' })
      assert.equal("POST", seen.method)
      assert.equal('{"a":1}', seen.body)
      assert.equal("7", seen.headers["content-length"])
      assert.is_nil(seen.headers["transfer-encoding"])
      assert.is_nil(seen.headers["content-type"])
      seen = echo(s, { method = "POST", body = "{}", headers = { "Content-Type: application/json" } })
      assert.equal("application/json", seen.headers["content-type"])
      s:close()
    end)

    it("sends Content-Length: 0 for an empty or missing POST body", function()
      local s = session()
      local seen = echo(s, { method = "POST", body = "" })
      assert.equal("0", seen.headers["content-length"])
      assert.equal("", seen.body)
      seen = echo(s, { method = "POST" })
      assert.equal("0", seen.headers["content-length"])
      s:close()
    end)

    it("sends binary bodies byte for byte", function()
      local s = session()
      local body = "a\0b\r\n\255"
      local seen = echo(s, { method = "POST", body = body })
      assert.equal(body, seen.body)
      seen = echo(s, { method = "POST", body = body, no_resend = true })
      assert.equal(body, seen.body)
      s:close()
    end)

    it("sends PUT, PATCH and DELETE", function()
      local s = session()
      for _, m in ipairs { "PUT", "PATCH" } do
        local seen = echo(s, { method = m, body = "b-" .. m })
        assert.equal(m, seen.method)
        assert.equal("b-" .. m, seen.body)
        assert.equal(tostring(#("b-" .. m)), seen.headers["content-length"])
      end
      local seen = echo(s, { method = "DELETE" })
      assert.equal("DELETE", seen.method)
      assert.is_nil(seen.headers["content-length"])
      seen = echo(s, { method = "DELETE", body = "why", no_resend = true })
      assert.equal("DELETE", seen.method)
      assert.equal("why", seen.body)
      s:close()
    end)

    it("with no_resend, sends the body via the read callback, with Content-Length, on the kept-alive connection",
      function()
      local s = session()
      local first = echo(s, { method = "GET" })
      local body = ("0123456789"):rep(50000)
      local seen, res = echo(s, { method = "POST", body = body, no_resend = true })
      assert.equal(body, seen.body)
      assert.equal(tostring(#body), seen.headers["content-length"])
      assert.is_nil(seen.headers["transfer-encoding"])
      assert.is_true(res.reused)
      assert.equal(first.conn, seen.conn)
      s:close()
    end)

    it("with no_resend and no body, uses a fresh connection", function()
      local s = session()
      local first = echo(s, { method = "GET" })
      local seen, res = echo(s, { method = "POST", body = "", no_resend = true })
      assert.is_false(res.reused)
      assert.are_not.equal(first.conn, seen.conn)
      assert.equal("0", seen.headers["content-length"])
      s:close()
    end)

    it("sends each request's own header lines, one request after another on one handle", function()
      -- the handle keeps its last header list while the lines are the same
      local s = session()
      local a = { "X-A: 1", "Accept: application/json" }
      local seen = echo(s, { method = "GET", headers = a })
      assert.equal("1", seen.headers["x-a"])
      seen = echo(s, { method = "GET", headers = { "X-B: 2", "Accept: application/json" } })
      assert.equal("2", seen.headers["x-b"])
      assert.is_nil(seen.headers["x-a"])
      seen = echo(s, { method = "GET", headers = a })
      assert.equal("1", seen.headers["x-a"])
      assert.is_nil(seen.headers["x-b"])
      -- the same lines, then a POST of them: no Content-Type made up for it
      seen = echo(s, { method = "POST", headers = a, body = "{}" })
      assert.is_nil(seen.headers["content-type"])
      seen = echo(s, { method = "POST", headers = { "X-A: 1", "Content-Type: application/json" }, body = "{}" })
      assert.equal("application/json", seen.headers["content-type"])
      seen = echo(s, { method = "GET" })
      assert.is_nil(seen.headers["x-a"])
      assert.is_nil(seen.headers["expect"])
      seen = echo(s, { method = "GET", headers = { "X-A: 1" } })
      assert.equal("1", seen.headers["x-a"])
      s:close()
    end)

    it("req.timeout_ms overrides the session's timeout", function()
      local s = session { timeout_ms = 30000 }
      local res, terr = s:perform { method = "GET", url = base .. "/slow?ms=1500", timeout_ms = 200 }
      assert.is_nil(res)
      assert.equal("timeout", terr.kind)
      s:close()
    end)

    it("takes req.timeout in seconds, as the transport interface gives it (timeout_ms first)", function()
      local s = session { timeout_ms = 30000 }
      local res, terr = s:perform { method = "GET", url = base .. "/slow?ms=1500", timeout = 0.2 }
      assert.is_nil(res)
      assert.equal("timeout", terr.kind)
      res = assert(s:perform { method = "GET", url = base .. "/slow?ms=300", timeout = 0.2, timeout_ms = 5000 })
      assert.equal(200, res.status)
      s:close()
    end)
  end)

  describe("responses", function()
    it("joins repeated headers, unfolds folded ones, trims values", function()
      local s = session()
      local res = assert(s:perform { method = "GET", url = base .. "/headers" })
      assert.equal("one, two", res.headers["x-dup"])
      assert.equal("a=1, b=2", res.headers["set-cookie"])
      assert.equal("first second", res.headers["x-folded"])
      assert.equal("padded value", res.headers["x-spaces"])
      assert.equal("", res.headers["x-empty"])
      assert.equal("ok", res.body)
      s:close()
    end)

    it("keeps only the final response's headers after a 100 Continue", function()
      local s = session()
      local res = assert(s:perform { method = "GET", url = base .. "/continue" })
      assert.equal(200, res.status)
      assert.is_nil(res.headers["x-interim"])
      assert.equal("application/json", res.headers["content-type"])
      s:close()
    end)

    it("returns an error status as a response, with its body", function()
      local s = session()
      local res, terr = s:perform { method = "GET", url = base .. "/status?code=503" }
      assert.is_nil(terr)
      assert.equal(503, res.status)
      assert.equal("1", res.headers["retry-after"])
      assert.equal("text/html", res.headers["content-type"])
      assert.matches("<h1>503 Service Unavailable</h1>", res.body, 1, true)
      s:close()
    end)

    it("bounds the response headers too (256 KiB)", function()
      local s = session()
      local res = assert(s:perform { method = "GET", url = base .. "/many-headers?n=100" })
      assert.equal(("h"):rep(100), res.headers["x-h100"])
      local terr
      res, terr = s:perform { method = "GET", url = base .. "/many-headers?n=3000" }
      assert.is_nil(res)
      assert.equal("too_large", terr.kind)
      assert.equal(CURLE_WRITE_ERROR, terr.code)
      assert.matches("headers", terr.message)
      s:close()
    end)

    it("accepts a body of exactly max_response_bytes", function()
      local s = session { max_response_bytes = 1000 }
      local res = assert(s:perform { method = "GET", url = base .. "/big?bytes=1000" })
      assert.equal(1000, #res.body)
      res = assert(s:perform { method = "GET", url = base .. "/big?bytes=1000&chunked=1" })
      assert.equal(1000, #res.body)
      s:close()
    end)

    it("fails with too_large above max_response_bytes (Content-Length known)", function()
      local s = session { max_response_bytes = 1000 }
      local res, terr = s:perform { method = "GET", url = base .. "/big?bytes=1001" }
      assert.is_nil(res)
      assert.equal("too_large", terr.kind)
      assert.equal(CURLE_FILESIZE_EXCEEDED, terr.code)
      assert.is_true(terr.request_sent)
      assert.matches("max_response_bytes", terr.message)
      s:close()
    end)

    it("fails with too_large above max_response_bytes (chunked, cut in the write callback)", function()
      local s = session { max_response_bytes = 100000 }
      local res, terr = s:perform { method = "GET", url = base .. "/big?bytes=5000000&chunked=1" }
      assert.is_nil(res)
      assert.equal("too_large", terr.kind)
      assert.equal(CURLE_WRITE_ERROR, terr.code)
      assert.is_true(terr.request_sent)
      -- the session still works afterwards
      assert.equal(200, echo(s, { method = "GET" }) and 200)
      s:close()
    end)
  end)

  describe("no silent resend", function()
    it("no_resend POST on a reused connection that dies: network error 65, server saw it once", function()
      local s = session()
      local first, r1 = echo(s, { method = "GET" })
      assert.is_false(r1.reused)
      local path = "/drop-after-read/no-resend"
      local res, terr = s:perform {
        method = "POST", url = base .. path, body = '{"buy":1}', no_resend = true,
        headers = { "Content-Type: application/json" },
      }
      assert.is_nil(res)
      assert.equal("network", terr.kind)
      assert.equal(CURLE_SEND_FAIL_REWIND, terr.code)
      assert.is_true(terr.request_sent)
      assert.is_string(terr.message)
      assert.is_nil(terr.message:find("\n"))
      assert.equal(1, count(path))
      -- a fresh connection is used next, and it works
      local again = echo(s, { method = "GET" })
      assert.are_not.equal(first.conn, again.conn)
      s:close()
    end)

    it("evidence: without no_resend libcurl silently sends the same POST twice", function()
      local s = session()
      echo(s, { method = "GET" })
      local path = "/drop-after-read/resend"
      local res, terr = s:perform { method = "POST", url = base .. path, body = '{"buy":1}' }
      assert.is_nil(res)
      assert.equal("network", terr.kind)
      assert.equal(CURLE_GOT_NOTHING, terr.code)
      assert.is_true(terr.request_sent)
      assert.equal(2, count(path))
      s:close()
    end)

    it("no_resend with an empty body is not resent either (fresh connection)", function()
      local s = session()
      echo(s, { method = "GET" })
      local path = "/drop-after-read/empty"
      local res, terr = s:perform { method = "POST", url = base .. path, no_resend = true }
      assert.is_nil(res)
      assert.equal("network", terr.kind)
      assert.equal(CURLE_GOT_NOTHING, terr.code)
      assert.is_true(terr.request_sent)
      assert.equal(1, count(path))
      s:close()
    end)
  end)

  describe("transport errors", function()
    it("connection refused: network, request_sent false", function()
      local probe = assert(socket.bind("127.0.0.1", 0))
      local _, port = probe:getsockname()
      probe:close()
      local s = session()
      local res, terr = s:perform { method = "POST", url = "http://127.0.0.1:" .. port .. "/x", body = "{}" }
      assert.is_nil(res)
      assert.equal("network", terr.kind)
      assert.equal(CURLE_COULDNT_CONNECT, terr.code)
      assert.is_false(terr.request_sent)
      assert.is_string(terr.message)
      s:close()
    end)

    it("timeout: kind timeout, request_sent true once the request left", function()
      -- a server of its own, answering 20 s late (it serves one request at
      -- a time: the shared one would be held up that long)
      local own = start_server()
      local s = session { timeout_ms = 300 }
      local t0 = socket.gettime()
      local res, terr = s:perform { method = "POST", url = "http://127.0.0.1:" .. own.port .. "/slow?ms=20000",
        body = "{}", no_resend = true }
      local elapsed = socket.gettime() - t0
      s:close()
      stop_server(own)
      -- no answer: the 300 ms ended it, 20 s before the answer would have come
      assert.is_nil(res)
      assert.equal("timeout", terr.kind)
      assert.equal(CURLE_OPERATION_TIMEDOUT, terr.code)
      assert.is_true(terr.request_sent)
      assert.is_true(elapsed >= 0.29, elapsed)
    end)

    it("a disallowed protocol is refused before anything is sent", function()
      local s = session()
      local res, terr = s:perform { method = "GET", url = "ftp://127.0.0.1:" .. srv.port .. "/" }
      assert.is_nil(res)
      assert.equal("network", terr.kind)
      assert.equal(CURLE_UNSUPPORTED_PROTOCOL, terr.code)
      assert.is_false(terr.request_sent)
      s:close()
    end)
  end)

  describe("programmer errors raise", function()
    local s
    before_each(function() s = session() end)
    after_each(function() s:close() end)

    local bad = {
      { "req not a table", nil },
      { "unknown method", { method = "HEAD", url = "http://127.0.0.1/" } },
      { "lower-case method", { method = "get", url = "http://127.0.0.1/" } },
      { "missing url", { method = "GET" } },
      { "url with CR/LF", { method = "GET", url = "http://127.0.0.1/\r\nX: y" } },
      { "headers not a table", { method = "GET", url = "http://127.0.0.1/", headers = "X: y" } },
      { "non-string header", { method = "GET", url = "http://127.0.0.1/", headers = { 1 } } },
      { "header with CR/LF", { method = "GET", url = "http://127.0.0.1/", headers = { "X-A: 1\r\nX-Injected: 2" } } },
      { "header with LF", { method = "GET", url = "http://127.0.0.1/", headers = { "X-A: 1\nX-B: 2" } } },
      { "header with CR", { method = "GET", url = "http://127.0.0.1/", headers = { "X-A: 1\r" } } },
      { "header with NUL", { method = "GET", url = "http://127.0.0.1/", headers = { "X-A: 1\0X" } } },
      { "body not a string", { method = "POST", url = "http://127.0.0.1/", body = 42 } },
      { "GET with a body", { method = "GET", url = "http://127.0.0.1/", body = "x" } },
      { "timeout_ms of 0", { method = "GET", url = "http://127.0.0.1/", timeout_ms = 0 } },
      { "timeout_ms not a number", { method = "GET", url = "http://127.0.0.1/", timeout_ms = "5" } },
      { "timeout of 0 s", { method = "GET", url = "http://127.0.0.1/", timeout = 0 } },
      { "timeout not a number", { method = "GET", url = "http://127.0.0.1/", timeout = "5" } },
      { "connect_timeout beyond 2^31-1 ms", { method = "GET", url = "http://127.0.0.1/", connect_timeout = 3e6 } },
    }
    for _, b in ipairs(bad) do
      it(b[1], function()
        assert.has_error(function() s:perform(b[2]) end)
      end)
    end

    it("bad session options", function()
      assert.has_error(function() core.session { timeout_ms = 0 } end)
      assert.has_error(function() core.session { connect_timeout_ms = -1 } end)
      assert.has_error(function() core.session { max_response_bytes = 1.5 } end)
      assert.has_error(function() core.session { max_response_bytes = 0 } end)
      assert.has_error(function() core.session { proxy = "http://x\r\nX-Injected: 1" } end)
      assert.has_error(function() core.session { ca_file = 5 } end)
      assert.has_error(function() core.session "opts" end)
    end)
  end)

  describe("lifecycle", function()
    it("tostring shows open/closed; close is idempotent; perform on a closed session raises", function()
      local s = core.session()
      assert.equal("proxyshard.core.session (open)", tostring(s))
      s:close()
      assert.equal("proxyshard.core.session (closed)", tostring(s))
      assert.has_no_error(function() s:close() end)
      assert.has_error_match(function() s:perform { method = "GET", url = base .. "/echo" } end,
        "session is closed")
    end)

    it("closes a used session; the garbage collector closes forgotten ones", function()
      local s = session()
      echo(s, { method = "GET" })
      s:close()
      for _ = 1, 5 do
        local t = session()
        echo(t, { method = "GET" })
      end
      collectgarbage()
      collectgarbage()
    end)

    if _VERSION == "Lua 5.4" then
      it("supports <close>", function()
        local chunk = assert(load([[
          local core = ...
          local s <close> = core.session {}
          return s
        ]]))
        local s = chunk(core)
        assert.equal("proxyshard.core.session (closed)", tostring(s))
      end)
    end

    it("initialises libcurl on first use: the first session, not the module's loading", function()
      local code = ("package.cpath = %q\n"):format(package.cpath) .. [[
        local core = require "proxyshard.core"
        local key = "proxyshard.core.curl_global"
        assert(core.money.cents(60) + core.money.cents(1))
        assert(debug.getregistry()[key] == nil, "libcurl initialised by loading the module or by money")
        core.session():close()
        assert(debug.getregistry()[key] ~= nil, "libcurl not initialised by a session")
        print("ok")
      ]]
      local out = shell.run(("%s -e %s 2>&1"):format(shell.LUA, shell.q(code)))
      assert.equal("ok\n", out)
    end)

    it("methods refuse other userdata", function()
      local s = core.session()
      local mt = getmetatable(s)
      assert.has_error(function() mt.__index.perform(io.stdout, {}) end)
      assert.has_error(function() mt.__index.close(io.stdout) end)
      s:close()
    end)
  end)
end)

-- Proxies: only the session's `proxy` option, never the environment. A
-- second test server stands in for the proxy: it answers an absolute-form
-- request ("GET http://host/path HTTP/1.1", what an HTTP proxy receives) by
-- echoing it, so the answer says whether it went through the proxy, and it
-- counts what it saw. The proxy variables are set in a child interpreter
-- (the same one, with the same module paths), the only way to set them for
-- libcurl from Lua without lua-posix.
describe("proxyshard.core session and proxies", function()
  local srv, proxy_srv, base, proxy_url

  lazy_setup(function()
    srv = start_server()
    proxy_srv = start_server()
    base = "http://127.0.0.1:" .. srv.port
    proxy_url = "http://127.0.0.1:" .. proxy_srv.port
  end)

  lazy_teardown(function()
    stop_server(srv)
    stop_server(proxy_srv)
  end)

  local PROXY_VARS = { "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
    "no_proxy", "NO_PROXY" }

  -- Runs `code` in a child interpreter with only the proxy variables of
  -- `env` set; returns what it printed.
  local function in_child(env, code)
    local words = { "env" }
    for _, name in ipairs(PROXY_VARS) do words[#words + 1] = "-u " .. name end
    for name, value in pairs(env) do words[#words + 1] = name .. "=" .. shell.q(value) end
    local prelude = ("package.path = %q; package.cpath = %q; local core = require 'proxyshard.core'\n")
      :format(package.path, package.cpath)
    words[#words + 1] = shell.LUA .. " -e " .. shell.q(prelude .. code) .. " 2>&1"
    local out = shell.run(table.concat(words, " "))
    return out
  end

  -- What the proxy saw for this absolute URL (or CONNECT authority).
  local function proxy_count(target)
    local s = core.session { timeout_ms = 5000 }
    local res = assert(s:perform { method = "GET", url = proxy_url .. "/count?path=" ..
      target:gsub("[^%w]", function(c) return ("%%%02X"):format(c:byte()) end) })
    s:close()
    return cjson.decode(res.body).count
  end

  -- The child's GET of `url` with a session made of `opts` (Lua source):
  -- "target=<what the server that answered saw>" or "code=<CURLcode>".
  local function child_get(env, opts, url)
    return in_child(env, ([[
      local s = core.session %s
      local res, terr = s:perform { method = "GET", url = %q, headers = { "Authorization: Bearer t0ken-in-child" } }
      if res then print("target=" .. (require("cjson").decode(res.body).target or "?"))
      else print("code=" .. terr.code) end
    ]]):format(opts, url))
  end

  it("ignores http_proxy, ALL_PROXY and all_proxy: a plain-http request goes direct", function()
    for i, name in ipairs { "http_proxy", "ALL_PROXY", "all_proxy" } do
      local path = "/echo/env-" .. i
      local out = child_get({ [name] = proxy_url }, "{ timeout_ms = 5000 }", base .. path)
      assert.equal("target=" .. path .. "\n", out, name)
      assert.equal(0, proxy_count(base .. path), name)
    end
  end)

  it("ignores https_proxy and HTTPS_PROXY: an https request goes direct", function()
    local port = shell.free_port()
    for _, name in ipairs { "https_proxy", "HTTPS_PROXY", "ALL_PROXY" } do
      local out = child_get({ [name] = proxy_url }, "{ timeout_ms = 5000 }", "https://127.0.0.1:" .. port .. "/")
      -- nobody listens there: refused, and the proxy saw no CONNECT
      assert.equal("code=" .. CURLE_COULDNT_CONNECT .. "\n", out, name)
      assert.equal(0, proxy_count("127.0.0.1:" .. port), name)
    end
  end)

  it("goes through the proxy option, token and all (hence the plain-http rule)", function()
    local s = core.session { timeout_ms = 5000, proxy = proxy_url }
    local res = assert(s:perform { method = "GET", url = base .. "/echo/opt?a=1",
      headers = { "Authorization: Bearer t0ken" } })
    local seen = cjson.decode(res.body)
    assert.equal(base .. "/echo/opt?a=1", seen.target)   -- absolute form: the proxy answered
    assert.equal("Bearer t0ken", seen.headers.authorization)
    res = assert(s:perform { method = "POST", url = base .. "/echo/opt-post", body = '{"n":1}', no_resend = true })
    seen = cjson.decode(res.body)
    assert.equal(base .. "/echo/opt-post", seen.target)
    assert.equal('{"n":1}', seen.body)
    s:close()
    assert.equal(1, proxy_count(base .. "/echo/opt"))
  end)

  it("keeps the proxy option whatever no_proxy or NO_PROXY in the environment says", function()
    local path = "/echo/env-no-proxy"
    local out = child_get({ no_proxy = "*", NO_PROXY = "127.0.0.1" },
      ("{ timeout_ms = 5000, proxy = %q }"):format(proxy_url), base .. path)
    assert.equal("target=" .. base .. path .. "\n", out)
  end)

  it("sends the hosts of the no_proxy option direct", function()
    local s = core.session { timeout_ms = 5000, proxy = proxy_url, no_proxy = "example.test, 127.0.0.1" }
    assert.equal("/echo/np", cjson.decode(assert(s:perform { method = "GET", url = base .. "/echo/np" }).body).target)
    s:close()
    s = core.session { timeout_ms = 5000, proxy = proxy_url, no_proxy = "example.test" }
    local res = assert(s:perform { method = "GET", url = base .. "/echo/np" })
    assert.equal(base .. "/echo/np", cjson.decode(res.body).target)
    s:close()
  end)

  it("an unreachable proxy: network, request_sent false", function()
    local s = core.session { timeout_ms = 5000, proxy = "http://127.0.0.1:" .. shell.free_port() }
    local res, terr = s:perform { method = "POST", url = base .. "/echo", body = "{}", no_resend = true }
    assert.is_nil(res)
    assert.equal("network", terr.kind)
    assert.equal(CURLE_COULDNT_CONNECT, terr.code)
    assert.is_false(terr.request_sent)
    s:close()
  end)

  it("refuses bad proxy options", function()
    for _, opts in ipairs {
      { proxy = 5 }, { proxy = "" }, { proxy = "proxy.example:3128" }, { proxy = "ftp://proxy.example" },
      { proxy = "http://proxy.example\r\nX-Injected: 1" }, { proxy = "http://proxy\0.example" },
      { proxy = "http://" }, { no_proxy = 5 }, { no_proxy = "a\nb" },
    } do
      assert.has_error(function() core.session(opts) end)
    end
    for _, scheme in ipairs { "http", "HTTPS", "socks4", "socks4a", "socks5", "socks5h" } do
      assert.has_no_error(function() core.session { proxy = scheme .. "://127.0.0.1:1" }:close() end)
    end
  end)
end)

-- TLS against the same server with --tls and a throw-away self-signed cert
-- (openssl and lua-sec are test dependencies, installed by scripts/setup.sh).
describe("proxyshard.core session over TLS", function()
  local srv, base, cert, key

  lazy_setup(function()
    local tmp = os.tmpname()
    cert, key = tmp .. ".crt", tmp .. ".key"
    os.remove(tmp)
    assert(shell.sh(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes " ..
      "-keyout %s -out %s -days 2 -subj /CN=localhost " ..
      "-addext subjectAltName=IP:127.0.0.1,DNS:localhost >/dev/null 2>&1"):format(key, cert)))
    srv = start_server(("--tls %s %s"):format(cert, key))
    base = "https://127.0.0.1:" .. srv.port
  end)

  lazy_teardown(function()
    stop_server(srv)
    if cert then os.remove(cert); os.remove(key) end
  end)

  it("rejects an untrusted certificate: kind tls, request_sent false", function()
    local s = core.session { timeout_ms = 5000 }
    local res, terr = s:perform { method = "POST", url = base .. "/echo", body = "{}" }
    assert.is_nil(res)
    assert.equal("tls", terr.kind)
    assert.equal(CURLE_PEER_FAILED_VERIFICATION, terr.code)
    assert.is_false(terr.request_sent)
    s:close()
  end)

  it("trusts ca_file and reuses the TLS connection", function()
    local s = core.session { timeout_ms = 5000, ca_file = cert }
    local r1 = assert(s:perform { method = "GET", url = base .. "/echo" })
    local r2 = assert(s:perform { method = "POST", url = base .. "/echo", body = "{}", no_resend = true })
    assert.equal(200, r1.status)
    assert.equal("{}", cjson.decode(r2.body).body)
    assert.is_true(r2.reused)
    s:close()
  end)

  it("an unreadable ca_file is a tls error, request_sent false", function()
    local s = core.session { timeout_ms = 5000, ca_file = "/nonexistent/ca.pem" }
    local res, terr = s:perform { method = "GET", url = base .. "/echo" }
    assert.is_nil(res)
    assert.equal("tls", terr.kind)
    assert.equal(CURLE_SSL_CACERT_BADFILE, terr.code)
    assert.is_false(terr.request_sent)
    s:close()
  end)
end)
