-- Proxies: the policy of proxyshard.check.proxy (unit specs with an injected
-- getenv), then requests over real sockets through a fake proxy (HTTP
-- forwarding, CONNECT tunnels, TLS to the proxy, SOCKS4/4a/5/5h), then the
-- environment for real, set in a child lua5.4 process.
--
-- Specs marked [wiring] go through proxyshard.new's `proxy`/`no_proxy`
-- options, which the client passes to proxyshard.check.proxy.settings.
local proxy = require "proxyshard.check.proxy"
local url = require "proxyshard.wire.url"
local errors = require "proxyshard.errors"
local cjson = require "cjson"
local shell = require "support.shell"

local TOKEN = "sandbox-token"

local function base(s) return assert(url.parse_base(s)) end
local HTTPS_BASE = base("https://api.example.com")
local LOOPBACK_HTTP = base("http://127.0.0.1:8089")

-- A getenv over a table.
local function env(t) return function(name) return t[name] end end
local function no_env() error("the environment was read") end

-- The invalid_argument error of a refused setting.
local function refused(...)
  local s, err = ...
  assert.is_nil(s)
  assert.is_true(errors.is(err, "invalid_argument"))
  return err
end

describe("proxyshard.check.proxy.settings", function()
  it("uses no proxy unless asked, and then does not even read the environment", function()
    assert.same({ source = "none" }, proxy.settings(nil, nil, HTTPS_BASE, false, no_env))
    assert.same({ source = "none" }, proxy.settings(false, nil, HTTPS_BASE, false, no_env))
    assert.same({ source = "none" }, proxy.settings(nil, "example.com", LOOPBACK_HTTP, false, no_env))
  end)

  it("takes a proxy URL of each scheme, in one spelling, with its credentials", function()
    for _, scheme in ipairs(proxy.SCHEMES) do
      local s = assert(proxy.settings(scheme:upper() .. "://u:p%40ss@Proxy.Example:1080/", nil, HTTPS_BASE,
        false, no_env))
      assert.same({ url = scheme .. "://u:p%40ss@proxy.example:1080", source = "option" }, s)
    end
    assert.equal("http://[::1]:3128", proxy.settings("http://[::1]:3128", nil, HTTPS_BASE, false, no_env).url)
    assert.equal("socks5h://proxy.example", proxy.settings("socks5h://proxy.example", nil, HTTPS_BASE).url)
  end)

  it("refuses a bad proxy option, naming proxy and never echoing the URL", function()
    for _, bad in ipairs {
      "", "proxy.example:3128", "ftp://u:s3cret@proxy.example", "http://", "http://u:s3cret@",
      "http://u:s3cret@proxy.example:0", "http://u:s3cret@proxy.example:65536", "http://proxy.example:31x8",
      "http://u:s3cret@proxy.example:3128/path", "http://proxy.example?s3cret", "http://proxy.example#s3cret",
      "http://u:s 3cret@proxy.example", "http://u:s3cret@proxy.example\r\nX: 1", "http://proxy\0.example",
      "http://@proxy.example", "http://[::zz]:1", "http://-s3cret.example", ("http://" .. ("a"):rep(2100)),
      42, true, {}, "ENV",
    } do
      local err = refused(proxy.settings(bad, nil, HTTPS_BASE, false, no_env))
      assert.equal("proxy", err.argument, tostring(bad))
      assert.is_nil(err.message:find("s3cret", 1, true), err.message)
    end
  end)

  it("refuses a no_proxy that is not a string, or holds control characters", function()
    assert.equal("no_proxy", refused(proxy.settings("http://127.0.0.1:1", 5, HTTPS_BASE)).argument)
    assert.equal("no_proxy", refused(proxy.settings("http://127.0.0.1:1", "a\r\nb", HTTPS_BASE)).argument)
    assert.equal("no_proxy", refused(proxy.settings(nil, { "a" }, HTTPS_BASE)).argument)
  end)

  describe("\"env\"", function()
    local A, B, C, D, E = "http://10.0.0.1:1", "http://10.0.0.2:2", "http://10.0.0.3:3",
      "http://10.0.0.4:4", "http://10.0.0.5:5"
    local HTTP_BASE = base("http://api.example.test")

    -- the proxy "env" picks for `base` with this environment, and the variable
    local function pick(vars, b)
      local s = assert(proxy.settings("env", nil, b, true, env(vars)))
      return s.url, s.variable or s.source
    end

    it("http base: http_proxy (never HTTP_PROXY), then all_proxy, then ALL_PROXY", function()
      assert.same({ A, "http_proxy" }, { pick({ http_proxy = A, all_proxy = B }, HTTP_BASE) })
      assert.same({ nil, "none" }, { pick({ HTTP_PROXY = A }, HTTP_BASE) })
      assert.same({ B, "all_proxy" }, { pick({ HTTP_PROXY = A, all_proxy = B, ALL_PROXY = C }, HTTP_BASE) })
      assert.same({ C, "ALL_PROXY" }, { pick({ ALL_PROXY = C, https_proxy = D }, HTTP_BASE) })
      assert.same({ nil, "none" }, { pick({ https_proxy = D, HTTPS_PROXY = E }, HTTP_BASE) })
      -- an empty variable counts as unset
      assert.same({ B, "all_proxy" }, { pick({ http_proxy = "", all_proxy = B }, HTTP_BASE) })
    end)

    it("https base: https_proxy, then HTTPS_PROXY, then all_proxy, then ALL_PROXY", function()
      assert.same({ D, "https_proxy" }, { pick({ https_proxy = D, HTTPS_PROXY = E, all_proxy = B }, HTTPS_BASE) })
      assert.same({ E, "HTTPS_PROXY" }, { pick({ HTTPS_PROXY = E, all_proxy = B }, HTTPS_BASE) })
      assert.same({ B, "all_proxy" }, { pick({ http_proxy = A, all_proxy = B, ALL_PROXY = C }, HTTPS_BASE) })
      assert.same({ C, "ALL_PROXY" }, { pick({ ALL_PROXY = C }, HTTPS_BASE) })
      assert.same({ nil, "none" }, { pick({ http_proxy = A, HTTP_PROXY = A }, HTTPS_BASE) })
      assert.same({ nil, "none" }, { pick({}, HTTPS_BASE) })
    end)

    it("takes a value without a scheme as an HTTP proxy, and socks schemes as they are", function()
      assert.equal("http://proxy.corp:8080", (pick({ https_proxy = "proxy.corp:8080" }, HTTPS_BASE)))
      assert.equal("socks5h://proxy.corp:1080", (pick({ https_proxy = "socks5h://proxy.corp:1080/" }, HTTPS_BASE)))
    end)

    it("refuses a bad value, naming proxy and the variable, never the value", function()
      local err = refused(proxy.settings("env", nil, HTTPS_BASE, false,
        env { https_proxy = "ftp://u:s3cret@proxy.corp" }))
      assert.equal("proxy", err.argument)
      assert.matches("https_proxy", err.message, 1, true)
      assert.is_nil(err.message:find("s3cret", 1, true))
      err = refused(proxy.settings("env", nil, HTTPS_BASE, false,
        env { https_proxy = "http://proxy.corp:3128", no_proxy = "a\nb" }))
      assert.equal("no_proxy", err.argument)
    end)

    it("never sends a loopback base through an environment proxy", function()
      for _, b in ipairs { "http://127.0.0.1:8089", "https://localhost", "http://[::1]:1", "https://127.1.2.3" } do
        assert.same({ source = "none" }, proxy.settings("env", nil, base(b), false,
          env { http_proxy = A, https_proxy = D, all_proxy = B }))
      end
    end)

    it("no_proxy, else NO_PROXY, sends hosts direct; the no_proxy option replaces both", function()
      assert.same({ nil, "none" }, { pick({ https_proxy = D, no_proxy = "example.com" }, HTTPS_BASE) })
      assert.same({ nil, "none" }, { pick({ https_proxy = D, NO_PROXY = "example.com" }, HTTPS_BASE) })
      assert.same({ D, "https_proxy" },
        { pick({ https_proxy = D, no_proxy = "other.test", NO_PROXY = "example.com" }, HTTPS_BASE) })
      local s = assert(proxy.settings("env", "other.test", HTTPS_BASE, false,
        env { https_proxy = D, no_proxy = "example.com" }))
      assert.same({ url = D, no_proxy = "other.test", source = "env", variable = "https_proxy" }, s)
      assert.same({ source = "none" }, proxy.settings("env", "*", HTTPS_BASE, false, env { https_proxy = D }))
    end)
  end)

  it("no_proxy with an explicit proxy too", function()
    assert.same({ source = "none" }, proxy.settings("http://10.0.0.1:1", "example.com", HTTPS_BASE, false, no_env))
    assert.same({ url = "http://10.0.0.1:1", no_proxy = "other.test", source = "option" },
      proxy.settings("http://10.0.0.1:1", "other.test", HTTPS_BASE, false, no_env))
  end)

  describe("the plain-http rule", function()
    local LOOPBACK_PROXIES = { "http://127.0.0.1:3128", "https://localhost:3129", "socks5h://[::1]:1080",
      "socks4://127.0.0.2:1080" }
    local REMOTE_PROXIES = { "http://203.0.113.5:3128", "https://proxy.example", "socks5://proxy.example:1080",
      "socks5h://10.0.0.1:1080", "socks4a://proxy.example:1080", "http://localhost.example:3128" }

    it("an https base may go through any proxy: the token stays inside TLS", function()
      for _, p in ipairs(REMOTE_PROXIES) do
        assert.equal("option", assert(proxy.settings(p, nil, HTTPS_BASE, false)).source, p)
      end
    end)

    it("a plain-http base goes only through a loopback proxy", function()
      for _, p in ipairs(LOOPBACK_PROXIES) do
        assert.equal("option", assert(proxy.settings(p, nil, LOOPBACK_HTTP, false)).source, p)
      end
      for _, p in ipairs(REMOTE_PROXIES) do
        local err = refused(proxy.settings(p, nil, LOOPBACK_HTTP, false))
        assert.equal("proxy", err.argument, p)
        assert.matches("plain http", err.message, 1, true)
        assert.matches("allow_insecure", err.message, 1, true)
      end
    end)

    it("allow_insecure lets a plain-http base through any proxy", function()
      for _, p in ipairs(REMOTE_PROXIES) do
        assert.equal("option", assert(proxy.settings(p, nil, LOOPBACK_HTTP, true)).source, p)
        assert.equal("option", assert(proxy.settings(p, nil, base("http://api.example.test"), true)).source, p)
      end
    end)

    it("holds for an environment proxy, and names its variable", function()
      local err = refused(proxy.settings("env", nil, base("http://api.example.test"), false,
        env { http_proxy = "http://u:s3cret@203.0.113.5:3128" }))
      assert.matches("http_proxy", err.message, 1, true)
      assert.is_nil(err.message:find("s3cret", 1, true))
    end)

    it("does not apply when no_proxy sends the base direct", function()
      assert.same({ source = "none" }, proxy.settings("http://203.0.113.5:3128", "127.0.0.1", LOOPBACK_HTTP, false))
    end)
  end)
end)

describe("proxyshard.check.proxy.bypass (no_proxy)", function()
  local cases = {
    -- list, base URL, sent direct?
    { "*", "https://api.example.com", true },
    { " * ", "http://10.1.2.3", true },
    { "example.com", "https://api.example.com", true },
    { ".example.com", "https://api.example.com", true },
    { "example.com", "https://example.com", true },
    { "EXAMPLE.com.", "https://api.example.com", true },
    { "*.example.com", "https://api.example.com", true },
    { "*.example.com", "https://badexample.com", false },
    { "example.com", "https://badexample.com", false },
    { "api.example.com", "https://example.com", false },
    { "a.test,example.com", "https://api.example.com", true },
    { " a.test ,, example.com ", "https://api.example.com", true },
    { "a.test example.com", "https://api.example.com", true },
    { "a.test,b.test", "https://api.example.com", false },
    { "", "https://api.example.com", false },
    { "10.1.2.3", "http://10.1.2.3", true },
    { "10.1.2.3", "http://10.1.2.4", false },
    { "10.0.0.0/8", "http://10.1.2.3", true },
    { "10.0.0.0/8", "http://11.0.0.1", false },
    { "192.168.0.0/16", "http://192.168.255.1", true },
    { "192.168.0.0/17", "http://192.168.255.1", false },
    { "0.0.0.0/0", "http://203.0.113.9", true },
    { "10.0.0.0/33", "http://10.0.0.1", false },
    { "::1", "http://[::1]:8080", true },
    { "fd00::/8", "http://[fd12::1]", true },
    { "fd00::/8", "http://[fe00::1]", false },
    { "2001:db8::1", "http://[2001:0db8:0:0:0:0:0:1]", true },
    { "::ffff:10.0.0.0/104", "http://[::ffff:10.9.8.7]", true },
    { "example.com", "http://10.0.0.1", false },
    { "10.0.0.0/8", "https://ten.example", false },
    { "10.0.0.1", "http://[::ffff:10.0.0.1]", false },
    { "api.example.com:8443", "https://api.example.com:8443", true },
    { "api.example.com:8443", "https://api.example.com", false },
    { "api.example.com:443", "https://api.example.com", true },
    { "10.1.2.3:80", "http://10.1.2.3", true },
    { "[::1]:8080", "http://[::1]:8080", true },
    { "[::1]:8080", "http://[::1]:8081", false },
  }
  for _, c in ipairs(cases) do
    it(("%q %s %s"):format(c[1], c[3] and "sends" or "does not send", c[2]), function()
      assert.equal(c[3], proxy.bypass(c[1], base(c[2])))
    end)
  end
  it("nil sends nothing direct", function()
    assert.is_false(proxy.bypass(nil, HTTPS_BASE))
  end)
end)

-- ---- over real sockets -------------------------------------------------------

-- The fake proxy: spec/support/fake_proxy.lua (its header says what it does).
local FAKE_PROXY_PROGRAM = "spec/support/fake_proxy.lua"

local start, stop = shell.start, shell.stop

-- What a fake proxy logged since it started (or was cleared).
local function entries(fake)
  local text = shell.read_file(fake.log) or ""
  local list = {}
  for line in text:gmatch("[^\n]+") do list[#list + 1] = cjson.decode(line) end
  return list
end

local function clear(fake) shell.write_file(fake.log, "") end

-- The value of a header in a logged request, case-insensitively.
local function header(entry, name)
  for _, h in ipairs(entry.headers) do
    if h[1]:lower() == name then return h[2] end
  end
end

local PROXY_VARS = { "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
  "no_proxy", "NO_PROXY" }

-- Runs Lua `code` in a child lua5.4 with only the proxy variables of `vars`
-- set (the modules of this checkout); returns what it printed.
local function in_child(vars, code)
  local words = { "env" }
  for _, name in ipairs(PROXY_VARS) do words[#words + 1] = "-u " .. name end
  for name, value in pairs(vars) do words[#words + 1] = name .. "=" .. shell.q(value) end
  -- under the ASan phase the child inherits the sanitizer: its leak check
  -- stops the world with ptrace, which a chroot may refuse ("Tracer caught
  -- signal 11"); memory errors are still reported, and the phase checks
  -- leaks in the specs' own process
  words[#words + 1] = "ASAN_OPTIONS=" .. shell.q(((os.getenv("ASAN_OPTIONS") or "") .. ":detect_leaks=0")
    :gsub("^:", ""))
  -- the Lua and the build of the C module this spec runs under
  local prelude = "package.path = 'lua/?.lua;lua/?/init.lua;spec/?.lua;' .. package.path; "
    .. ("package.cpath = %q\n"):format(package.cpath)
  words[#words + 1] = shell.LUA .. " -e " .. shell.q(prelude .. code) .. " 2>&1"
  return (shell.run(table.concat(words, " ")))
end

describe("through a proxy, over real sockets", function()
  local dir, cert, key, srv, tls_srv, fake, rejecting, tls_fake
  local curl = require "proxyshard.transport.curl"

  local function fake_proxy(name, extra)
    local log = dir .. "/" .. name .. ".log"
    shell.write_file(log, "")
    local p = start(("lua5.4 %s %s %s"):format(FAKE_PROXY_PROGRAM, shell.q(log), extra or ""))
    p.log = log
    p.url = "http://127.0.0.1:" .. p.port
    return p
  end

  lazy_setup(function()
    dir = shell.tmpdir("proxyshard-proxy-spec")
    cert, key = dir .. "/cert.pem", dir .. "/key.pem"
    assert(shell.sh(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes " ..
      "-keyout %s -out %s -days 2 -subj /CN=localhost " ..
      "-addext subjectAltName=IP:127.0.0.1,DNS:localhost >/dev/null 2>&1"):format(key, cert)))
    srv = start("lua5.4 spec/support/raw_http_server.lua --lifetime 120")
    tls_srv = start(("lua5.4 spec/support/raw_http_server.lua --lifetime 120 --tls %s %s"):format(cert, key))
    fake = fake_proxy("forward")
    rejecting = fake_proxy("reject", "--reject")
    tls_fake = fake_proxy("tls", ("--tls %s %s"):format(cert, key))
  end)

  lazy_teardown(function()
    for _, p in ipairs { srv, tls_srv, fake, rejecting, tls_fake } do stop(p) end
    if dir then shell.sh("rm -rf " .. shell.q(dir)) end
  end)

  before_each(function()
    for _, p in ipairs { fake, rejecting, tls_fake } do clear(p) end
  end)

  local function transport(opts)
    opts.timeout, opts.connect_timeout, opts.max_response_bytes = 5, 5, 1048576
    return curl.new(opts)
  end

  local function get(t, target, headers)
    return t:request { method = "GET", url = target, headers = headers or { "Authorization: Bearer t0ken" } }
  end

  describe("the curl transport", function()
    it("forwards through an http proxy; the proxy sees the request, token included", function()
      local t = transport { proxy = fake.url }
      local res = assert(get(t, "http://127.0.0.1:" .. srv.port .. "/echo/fwd?x=1"))
      t:close()
      assert.equal(200, res.status)
      assert.equal("/echo/fwd?x=1", cjson.decode(res.body).target)   -- reached the server
      local log = entries(fake)
      assert.equal(1, #log)
      assert.equal("GET http://127.0.0.1:" .. srv.port .. "/echo/fwd?x=1 HTTP/1.1", log[1].line)
      assert.equal("Bearer t0ken", header(log[1], "authorization"))
    end)

    it("tunnels https through an http proxy: the CONNECT carries none of the request's headers", function()
      local t = transport { proxy = fake.url, ca_file = cert }
      local res = assert(get(t, "https://127.0.0.1:" .. tls_srv.port .. "/echo/tunnel",
        { "Authorization: Bearer t0ken", "X-Custom: 1" }))
      t:close()
      local seen = cjson.decode(res.body)
      assert.equal("/echo/tunnel", seen.target)
      assert.equal("Bearer t0ken", seen.headers.authorization)        -- the server got it, inside TLS
      local log = entries(fake)
      assert.equal(1, #log)
      assert.equal("CONNECT 127.0.0.1:" .. tls_srv.port .. " HTTP/1.1", log[1].line)
      assert.is_nil(header(log[1], "authorization"))
      assert.is_nil(header(log[1], "x-custom"))
    end)

    it("verifies an https proxy like the API: untrusted is a tls error, ca_file trusts it", function()
      local proxy_url = "https://127.0.0.1:" .. tls_fake.port
      local t = transport { proxy = proxy_url }
      local res, terr = get(t, "http://127.0.0.1:" .. srv.port .. "/echo/tls-proxy")
      t:close()
      assert.is_nil(res)
      assert.equal("tls", terr.kind)
      assert.is_false(terr.request_sent)
      assert.same({}, entries(tls_fake))
      t = transport { proxy = proxy_url, ca_file = cert }
      res = assert(get(t, "https://127.0.0.1:" .. tls_srv.port .. "/echo/tls-proxy"))
      t:close()
      assert.equal("/echo/tls-proxy", cjson.decode(res.body).target)
      assert.equal("CONNECT 127.0.0.1:" .. tls_srv.port .. " HTTP/1.1", entries(tls_fake)[1].line)
    end)

    it("speaks SOCKS as the scheme says; socks4a and socks5h let the proxy resolve the name", function()
      local NAME = "upstream.proxyshard.test"
      local cases = {
        -- scheme, host in the URL, what the proxy is told
        -- (no name the machine must resolve: the proxy resolves its own,
        -- spec/support/fake_proxy.lua, so a minimal root passes too)
        { "socks4", "127.0.0.1", { kind = "socks4", atyp = "ip", host = "127.0.0.1" } },
        { "socks4a", NAME, { kind = "socks4", atyp = "name", host = NAME } },
        { "socks5", "127.0.0.1", { kind = "socks5", atyp = 1, host = "127.0.0.1" } },
        { "socks5h", NAME, { kind = "socks5", atyp = 3, host = NAME } },
      }
      for _, c in ipairs(cases) do
        clear(fake)
        local t = transport { proxy = c[1] .. "://127.0.0.1:" .. fake.port }
        local res, terr = get(t, "http://" .. c[2] .. ":" .. srv.port .. "/echo/" .. c[1])
        t:close()
        assert.is_nil(terr, c[1])
        assert.equal("/echo/" .. c[1], cjson.decode(res.body).target)
        c[3].port = srv.port
        assert.same({ c[3] }, entries(fake), c[1])
      end
    end)

    it("a SOCKS proxy that refuses: network, request_sent false (the purchase never left)", function()
      local t = transport { proxy = "socks5://127.0.0.1:" .. rejecting.port }
      local res, terr = t:request { method = "POST", url = "http://127.0.0.1:" .. srv.port .. "/echo/refused",
        body = "{}", no_resend = true, headers = { "Content-Type: application/json" } }
      t:close()
      assert.is_nil(res)
      assert.equal("network", terr.kind)
      assert.is_false(terr.request_sent)
      assert.equal(1, #entries(rejecting))
    end)

    it("a CONNECT refused by the proxy is a network error that says so", function()
      local t = transport { proxy = rejecting.url }
      local res, terr = get(t, "https://127.0.0.1:" .. tls_srv.port .. "/echo/connect-refused")
      t:close()
      assert.is_nil(res)
      assert.equal("network", terr.kind)
      assert.matches("403", terr.message)
    end)

    it("goes direct with no proxy, and for the hosts of no_proxy", function()
      local t = transport {}
      assert(get(t, "http://127.0.0.1:" .. srv.port .. "/echo/direct"))
      t:close()
      t = transport { proxy = fake.url, no_proxy = "127.0.0.1" }
      assert.equal("/echo/np", cjson.decode(assert(get(t, "http://127.0.0.1:" .. srv.port .. "/echo/np")).body).target)
      t:close()
      assert.same({}, entries(fake))
      t = transport { proxy = fake.url, no_proxy = "example.test" }
      assert(get(t, "http://127.0.0.1:" .. srv.port .. "/echo/np"))
      t:close()
      assert.equal(1, #entries(fake))
    end)
  end)

  describe("the environment", function()
    it("is ignored by a client without the proxy option", function()
      local vars = {}
      for _, name in ipairs { "http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" } do
        vars[name] = rejecting.url
      end
      local out = in_child(vars, ([[
        local t = require("proxyshard.transport.curl").new { timeout = 5, connect_timeout = 5,
          max_response_bytes = 1048576 }
        local res, terr = t:request { method = "GET", url = %q, headers = { "Authorization: Bearer t0ken" } }
        print(res and res.status, terr and terr.message)
      ]]):format("http://127.0.0.1:" .. srv.port .. "/echo/env-ignored"))
      assert.equal("200\tnil\n", out)
      assert.same({}, entries(rejecting))
    end)

    it("\"env\" reads the real environment: the proxy for the base URL, minus no_proxy", function()
      local code = [[
        local proxy = require "proxyshard.check.proxy"
        local s = assert(proxy.settings("env", nil, require("proxyshard.wire.url").parse_base("https://192.0.2.1:9")))
        local t = require("proxyshard.transport.curl").new { timeout = 5, connect_timeout = 2,
          max_response_bytes = 1048576, proxy = s.url, no_proxy = s.no_proxy }
        local res, terr = t:request { method = "GET", url = "https://192.0.2.1:9/user/api/me",
          headers = { "Authorization: Bearer t0ken" } }
        print(s.source, s.variable, res and res.status, terr and terr.kind)
      ]]
      local out = in_child({ https_proxy = rejecting.url, http_proxy = fake.url }, code)
      assert.equal("env\thttps_proxy\tnil\tnetwork\n", out)
      local log = entries(rejecting)
      assert.equal(1, #log)
      assert.equal("CONNECT 192.0.2.1:9 HTTP/1.1", log[1].line)
      assert.is_nil(header(log[1], "authorization"))
      -- an entry with a port, which libcurl would not match on its own:
      -- the decision is ours, and libcurl follows it
      clear(rejecting)
      out = in_child({ https_proxy = rejecting.url, NO_PROXY = "example.test 192.0.2.1:9" }, code)
      assert.matches("^none\tnil\tnil\t%a+\n$", out)
      assert.same({}, entries(rejecting))
    end)
  end)

  describe("proxyshard.new", function()
    local proxyshard = require "proxyshard"
    local sandbox_process = require "support.sandbox_process"
    local sb

    lazy_setup(function() sb = sandbox_process.start() end)
    lazy_teardown(function() if sb then sb:stop() end end)
    before_each(function() sb:reset() end)

    it("ignores the environment's proxies by default", function()
      local vars = {}
      for _, name in ipairs { "http_proxy", "https_proxy", "all_proxy", "ALL_PROXY" } do vars[name] = rejecting.url end
      local out = in_child(vars, ([[
        local client = require("proxyshard").new { token = %q, base_url = %q, timeout = 5 }
        local me, err = client:me()
        print(me and me.wallet_balance.cents, err and tostring(err))
      ]]):format(TOKEN, sb.url))
      assert.equal("10000\tnil\n", out)
      assert.same({}, entries(rejecting))
    end)

    it("[wiring] goes through the proxy option: reads and a purchase", function()
      local client = proxyshard.new { token = TOKEN, base_url = sb.url, proxy = fake.url, timeout = 5 }
      assert.equal(10000, assert(client:me()).wallet_balance.cents)
      assert(client:order(12345):addon("p0f_slots"):purchase(1))
      client:close()
      local lines = {}
      for i, e in ipairs(entries(fake)) do lines[i] = e.line end
      assert.equal("GET " .. sb.url .. "/user/api/me HTTP/1.1", lines[1])
      local posted = false
      for _, line in ipairs(lines) do
        if line == "POST " .. sb.url .. "/user/api/orders/12345/addons/purchase HTTP/1.1" then posted = true end
      end
      assert.is_true(posted, table.concat(lines, "\n"))
      assert.equal(1, #sb:ledger())
    end)

    it("[wiring] proxy = \"env\" takes the environment's proxy, and no_proxy", function()
      local code = [[
        local client = require("proxyshard").new { token = "t0ken-123456789", base_url = "https://192.0.2.1:9",
          proxy = "env", timeout = 5, connect_timeout = 2, max_retries = 0 }
        local _, err = client:me()
        print(err and err.kind)
      ]]
      assert.equal("network\n", in_child({ https_proxy = rejecting.url }, code))
      local log = entries(rejecting)
      assert.equal(1, #log)
      assert.equal("CONNECT 192.0.2.1:9 HTTP/1.1", log[1].line)
      -- the no_proxy option replaces the environment's
      clear(rejecting)
      in_child({ https_proxy = rejecting.url, no_proxy = "example.test" },
        (code:gsub('proxy = "env",', 'proxy = "env", no_proxy = "192.0.2.0/24",')))
      assert.same({}, entries(rejecting))
    end)

    it("[wiring] refuses a plain-http base through a non-loopback proxy unless allow_insecure", function()
      local ok, err = pcall(proxyshard.new, { token = "t0ken-123456789", base_url = sb.url,
        proxy = "http://203.0.113.5:3128" })
      assert.is_false(ok)
      assert.is_true(errors.is(err, "invalid_argument"))
      assert.equal("proxy", err.argument)
      assert.is_nil(tostring(err):find("t0ken", 1, true))
      local client = proxyshard.new { token = "t0ken-123456789", base_url = sb.url,
        proxy = "http://203.0.113.5:3128", allow_insecure = true }
      client:close()
    end)

    it("[wiring] refuses a bad proxy URL without echoing it", function()
      local ok, err = pcall(proxyshard.new, { token = TOKEN, proxy = "ftp://u:s3cret@proxy.example" })
      assert.is_false(ok)
      assert.equal("proxy", err.argument)
      assert.is_nil(tostring(err):find("s3cret", 1, true))
      ok, err = pcall(proxyshard.new, { token = TOKEN, proxy = "http://127.0.0.1:1", no_proxy = "a\r\nb" })
      assert.is_false(ok)
      assert.equal("no_proxy", err.argument)
    end)
  end)
end)

describe("proxyshard.wire.url.is_loopback", function()
  local is_loopback = require("proxyshard.wire.url").is_loopback

  it("takes ::1 with or without brackets (the sandbox's rule too: sandbox_server_spec)", function()
    for _, host in ipairs { "::1", "[::1]", "[0:0:0:0:0:0:0:1]", "127.0.0.1", "127.9.8.7", "Localhost" } do
      assert.is_true(is_loopback(host), host)
    end
    for _, host in ipairs { "[::2]", "[::1", "::1]", "127.1", "example.com", "[127.0.0.1]" } do
      assert.is_false(is_loopback(host), host)
    end
  end)
end)
