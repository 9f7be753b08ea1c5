-- The command's conventions (issue 18, items 3 and 4): the config file's
-- profiles wired in, with one precedence for every setting (flag, then
-- environment, then profile, then default); --sandbox with its own token;
-- a token file others can read warned about; the library's client options
-- as flags; --debug, the token redacted in every spelling; --output,
-- --columns and --no-header on every list; messages in flags, never Lua;
-- and negative numbers as values. Most of it drives bin/proxyshard as a
-- process against a sandbox process; the precedence and the shapes of a
-- table run in-process.
local cjson = require "cjson"
local shell = require "support.shell"
local sandbox_process = require "support.sandbox_process"
local commands = require "proxyshard.cli.commands"
local parser = require "proxyshard.cli.parser"
local context = require "proxyshard.cli.context"
local render = require "proxyshard.cli.render"
local errors = require "proxyshard.errors"
local redact = require "proxyshard.wire.redact"

local q = shell.q
local _ -- what a test does not look at

-- bin/proxyshard as a process (support.command): stdout, stderr, exit status
local proxyshard = require("support.command").run

-- A file of `text` in a fresh directory, with `mode` (octal text): its path.
local function file_with(text, mode, name)
  local dir = shell.tmpdir("proxyshard-conventions-files")
  local path = dir .. "/" .. (name or "file")
  shell.write_file(path, text)
  shell.sh(("chmod %s %s"):format(mode or "600", q(path)))
  return path
end

-- A fake system for in-process runs: streams collected, the environment
-- `env`, files `files` (path -> text), file modes `modes`.
local function fake_system(env, files, modes)
  local out, err = {}, {}
  return {
    out = function(t) out[#out + 1] = t end,
    err = function(t) err[#err + 1] = t end,
    read_line = function() return nil end,
    getenv = function(name) return (env or {})[name] end,
    is_tty = function() return false end,
    echo = function() end,
    execute = os.execute,
    open = function(path, how)
      if files and files[path] then
        local text = files[path]
        return { read = function(_, what)
          if what == "l" then return text:match("^[^\n]*") end
          return text
        end, close = function() end }
      end
      return io.open(path, how)
    end,
    file_mode = function(path) return modes and modes[path] end,
    now = os.time,
    stdout = function() return table.concat(out) end,
    stderr = function() return table.concat(err) end,
  }
end

-- A context configured for `argv` on `sys`: the context, and the error of
-- configure (nil when it took the command line).
local function configured(argv, sys)
  local ctx = context.new(sys, argv)
  local ok, args = parser.parse(argv)
  assert.is_true(ok, tostring(args))
  local done, err = ctx:configure(args, commands.lookup(args.command))
  return ctx, (not done) and err or nil
end

describe("the command's config file and settings", function()
  local CONFIG = table.concat({
    "[default]",
    "base_url = http://127.0.0.1:1/default",
    "timeout = 11",
    "connect_timeout = 3",
    "lock_wait = 4",
    "state_dir = ~/state-from-profile",
    "[work]",
    "base_url = http://127.0.0.1:1/work",
    "proxy = socks5h://127.0.0.1:1080",
    "ca_file = ~/work-ca.pem",
    "allow_insecure = true",
    "token_file = ~/work-token",
  }, "\n")
  local FILES = { ["/cfg"] = CONFIG, ["/h/work-token"] = "work-token-1234\n" }

  it("takes each setting from its flag, else its environment variable, else the profile, else the default",
    function()
      -- the profile alone
      local ctx = configured({ "me" }, fake_system({ PROXYSHARD_CONFIG = "/cfg", HOME = "/h" }, FILES))
      assert.are.same({ base_url = "http://127.0.0.1:1/default", timeout = 11, connect_timeout = 3, lock_wait = 4,
        state_dir = "/h/state-from-profile" }, ctx.settings)
      assert.are.equal("profile default", ctx.sources.timeout)
      -- the environment over the profile
      ctx = configured({ "me" }, fake_system({ PROXYSHARD_CONFIG = "/cfg", HOME = "/h",
        PROXYSHARD_BASE_URL = "http://127.0.0.1:2", PROXYSHARD_TIMEOUT = "12", PROXYSHARD_CONNECT_TIMEOUT = "2",
        PROXYSHARD_LOCK_WAIT = "0", PROXYSHARD_STATE_DIR = "/env-state", PROXYSHARD_PROXY = "http://127.0.0.1:3128",
        PROXYSHARD_CA_FILE = "/env-ca.pem", PROXYSHARD_ALLOW_INSECURE = "true" }, FILES))
      assert.are.same({ base_url = "http://127.0.0.1:2", timeout = 12, connect_timeout = 2, lock_wait = 0,
        state_dir = "/env-state", proxy = "http://127.0.0.1:3128", ca_file = "/env-ca.pem", allow_insecure = true },
        ctx.settings)
      assert.are.equal("PROXYSHARD_TIMEOUT", ctx.sources.timeout)
      -- the flags over both
      ctx = configured({ "--base-url", "http://127.0.0.1:3", "--timeout", "13", "--connect-timeout", "1",
        "--lock-wait", "5", "--state-dir", "/flag-state", "--proxy", "none", "--ca-file", "/flag-ca.pem",
        "--allow-insecure", "me" }, fake_system({ PROXYSHARD_CONFIG = "/cfg", HOME = "/h",
        PROXYSHARD_BASE_URL = "http://127.0.0.1:2", PROXYSHARD_TIMEOUT = "12",
        PROXYSHARD_PROXY = "http://127.0.0.1:3128", PROXYSHARD_ALLOW_INSECURE = "false" }, FILES))
      assert.are.same({ base_url = "http://127.0.0.1:3", timeout = 13, connect_timeout = 1, lock_wait = 5,
        state_dir = "/flag-state", proxy = false, ca_file = "/flag-ca.pem", allow_insecure = true }, ctx.settings)
      assert.are.equal("--timeout", ctx.sources.timeout)
      -- and the client made with them
      local client = assert(configured({ "--token", "some-token-123", "--timeout", "13", "--connect-timeout", "1",
        "--lock-wait", "5", "me" }, fake_system({}, FILES)):client())
      assert.are.equal(13, client.timeout)
      assert.are.equal(1, client.connect_timeout)
      assert.are.equal(5, client.jobs.lock_wait)
    end)

  it("picks the profile by --profile, else PROXYSHARD_PROFILE, else default", function()
    local env = { PROXYSHARD_CONFIG = "/cfg", HOME = "/h" }
    local ctx = configured({ "--profile", "work", "me" }, fake_system(env, FILES))
    assert.are.equal("http://127.0.0.1:1/work", ctx.settings.base_url)
    assert.are.equal("/h/work-ca.pem", ctx.settings.ca_file)
    assert.are.equal("socks5h://127.0.0.1:1080", ctx.settings.proxy)
    assert.is_true(ctx.settings.allow_insecure)
    env.PROXYSHARD_PROFILE = "work"
    ctx = configured({ "me" }, fake_system(env, FILES))
    assert.are.equal("work", ctx.profile_name)
    ctx = configured({ "--profile", "default", "me" }, fake_system(env, FILES))
    assert.are.equal("default", ctx.profile_name)
    -- the profile's token file, read (with the environment's token over it)
    ctx = configured({ "--profile", "work", "me" }, fake_system({ PROXYSHARD_CONFIG = "/cfg", HOME = "/h" }, FILES))
    assert.are.equal("work-token-1234", (ctx:token()))
    ctx = configured({ "--profile", "work", "me" }, fake_system({ PROXYSHARD_CONFIG = "/cfg", HOME = "/h",
      PROXYSHARD_TOKEN = "env-token-1234" }, FILES))
    assert.are.equal("env-token-1234", (ctx:token()))
  end)

  it("refuses a profile that is not there, a bad config and a bad environment value (exit 2, nothing sent)",
    function()
      local config = file_with(CONFIG, "600", "config")
      local out, err, code = proxyshard("--profile wrok me", { PROXYSHARD_CONFIG = config })
      assert.are.equal(2, code)
      assert.are.equal("", out)
      assert.matches('%-%-profile wrok is not a profile of .-config %(did you mean "work"%?%)', err)
      local bad = file_with("[default]\ntimeot = 5\n", "600", "config")
      _, err, code = proxyshard("me", { PROXYSHARD_CONFIG = bad })
      assert.are.equal(2, code)
      assert.matches('config:2: unknown key "timeot" %(did you mean "timeout"%?%)', err)
      _, err, code = proxyshard("me", { PROXYSHARD_TIMEOUT = "soon", PROXYSHARD_TOKEN = "some-token-123" })
      assert.are.equal(2, code)
      assert.matches("PROXYSHARD_TIMEOUT must be a number of seconds, got soon", err, 1, true)
      _, err, code = proxyshard("--profile work me", {})
      assert.are.equal(2, code)
      assert.matches("--profile work: there is no config file", err, 1, true)
    end)

  describe("against a sandbox", function()
    local sb
    setup(function() sb = sandbox_process.start() end)
    teardown(function() if sb then sb:stop() end end)
    before_each(function() sb:reset() end)

    it("runs a profile's base URL and token file, the flag and the environment over it", function()
      local token = file_with("sandbox-token\n", "600", "token")
      local config = file_with(table.concat({ "[default]", "base_url = http://127.0.0.1:1", "[sb]",
        "base_url = " .. sb.url, "token_file = " .. token }, "\n"), "600", "config")
      local out, err, code = proxyshard("--profile sb me", { PROXYSHARD_CONFIG = config })
      assert.are.equal(0, code, err)
      assert.matches("^dev@sandbox%.proxyshard%.test: ", out)
      assert.are.equal("", err) -- mode 0600: no warning
      out, err, code = proxyshard("me", { PROXYSHARD_CONFIG = config, PROXYSHARD_PROFILE = "sb" })
      assert.are.equal(0, code, err)
      assert.matches("^dev@sandbox%.proxyshard%.test: ", out)
      -- the default profile's base URL, under the environment's and the flag's
      _, err, code = proxyshard("me", { PROXYSHARD_CONFIG = config, PROXYSHARD_TOKEN = "sandbox-token" })
      assert.are.equal(8, code)
      assert.matches("127.0.0.1 port 1", err, 1, true)
      _, err, code = proxyshard("me", { PROXYSHARD_CONFIG = config, PROXYSHARD_TOKEN = "sandbox-token",
        PROXYSHARD_BASE_URL = sb.url })
      assert.are.equal(0, code, err)
      _, err, code = proxyshard("--base-url " .. q(sb.url) .. " me", { PROXYSHARD_CONFIG = config,
        PROXYSHARD_TOKEN = "sandbox-token", PROXYSHARD_BASE_URL = "http://127.0.0.1:1" })
      assert.are.equal(0, code, err)
    end)

    it("warns of a token file its group or others can read, as ssh does, and still uses it", function()
      local token = file_with("sandbox-token\n", "644", "token")
      local out, err, code = proxyshard("--base-url " .. q(sb.url) .. " --token-file " .. q(token) .. " me", {})
      assert.are.equal(0, code, err)
      assert.matches("^dev@sandbox", out)
      assert.are.equal(("proxyshard: warning: permissions 0644 for %s are too open: the token file should be "
        .. "readable by you only (chmod 600 %s)\n"):format(token, token), err)
      -- a profile's token file too
      local config = file_with("[default]\ntoken_file = " .. token .. "\n", "600", "config")
      _, err, code = proxyshard("--base-url " .. q(sb.url) .. " me", { PROXYSHARD_CONFIG = config })
      assert.are.equal(0, code, err)
      assert.matches("permissions 0644 for " .. token, err, 1, true)
      shell.sh("chmod 640 " .. q(token))
      _, err = proxyshard("--base-url " .. q(sb.url) .. " --token-file " .. q(token) .. " me", {})
      assert.matches("permissions 0640 for ", err, 1, true)
    end)

    it("--sandbox sends the sandbox's token, not a live PROXYSHARD_TOKEN or profile token; --token-file wins",
      function()
        local live = file_with("live-token-1234567\n", "600", "live")
        local config = file_with("[default]\ntoken_file = " .. live .. "\n", "600", "config")
        local out, err, code = proxyshard("--sandbox me", { PROXYSHARD_SANDBOX_URL = sb.url,
          PROXYSHARD_TOKEN = "live-token-1234567", PROXYSHARD_CONFIG = config })
        assert.are.equal(0, code, err)
        assert.matches("^dev@sandbox", out)
        _, _, code = proxyshard("--sandbox --token-file " .. q(live) .. " me", { PROXYSHARD_SANDBOX_URL = sb.url })
        assert.are.equal(5, code) -- the live token, given explicitly, is sent: the sandbox refuses it
        _, _, code = proxyshard("--sandbox me", { PROXYSHARD_SANDBOX_URL = sb.url,
          PROXYSHARD_SANDBOX_TOKEN = "sandbox-token", PROXYSHARD_TOKEN = "live-token-1234567" })
        assert.are.equal(0, code)
        for _, r in ipairs(sb:requests()) do
          assert.is_nil(cjson.encode(r):find("live-token", 1, true))
        end
      end)

    it("takes the library's options as flags: --proxy, --ca-file, --allow-insecure, --connect-timeout", function()
      local env = { PROXYSHARD_TOKEN = "sandbox-token" }
      -- through a proxy that is not there: no answer (it did go there)
      local _, err, code = proxyshard("--base-url " .. q(sb.url) .. " --proxy http://127.0.0.1:1 --connect-timeout 1 "
        .. "--timeout 3 me", env)
      assert.are.equal(8, code)
      assert.matches("127.0.0.1 port 1", err, 1, true)
      _, err, code = proxyshard("--base-url " .. q(sb.url) .. " --proxy ftp://127.0.0.1:1 me", env)
      assert.are.equal(2, code)
      assert.matches('--proxy has a scheme other than .* %(expected scheme://%[user:password@%]host%[:port%], '
        .. '"env" or "none"%)', err)
      -- a CA file that is not there: the TLS handshake says so
      local https = sb.url:gsub("^http:", "https:")
      _, err, code = proxyshard("--base-url " .. q(https) .. " --ca-file /nonexistent/ca.pem --timeout 3 me", env)
      assert.are.equal(8, code)
      assert.matches("^proxyshard tls error: .-/nonexistent/ca%.pem", err)
      -- plain http off loopback: refused in flags, allowed with --allow-insecure
      _, err, code = proxyshard("--base-url http://203.0.113.1:9 me", env)
      assert.are.equal(2, code)
      assert.are.equal("proxyshard invalid_argument error: --base-url is plain http to a non-loopback host; use "
        .. "https, or --allow-insecure\n", err)
      _, err, code = proxyshard("--base-url http://203.0.113.1:9 --allow-insecure --proxy http://127.0.0.1:1 "
        .. "--timeout 2 me", env)
      assert.are_not.equal(2, code)
      assert.is_nil(err:find("plain http", 1, true))
      _, err, code = proxyshard("--base-url " .. q(sb.url) .. " --connect-timeout 0 me", env)
      assert.are.equal(2, code)
      assert.matches("--connect-timeout must be a number of seconds in (0, 3600], got 0", err, 1, true)
    end)
  end)
end)

describe("--debug", function()
  local TOKEN = "tok/en+secret=1&x"
  local sb
  setup(function() sb = sandbox_process.start("--token " .. q(TOKEN)) end)
  teardown(function() if sb then sb:stop() end end)

  -- the token as written, JSON-escaped and percent-encoded
  local function spellings(t)
    local json = cjson.encode(t):sub(2, -2)
    local pct = t:gsub("[^%w]", function(c) return ("%%%02X"):format(c:byte()) end)
    local unicode = t:gsub("[/+=&]", function(c) return ("\\u%04x"):format(c:byte()) end)
    return { t, json, pct, unicode }
  end

  it("logs each request and answer, the attempt, the status and headers, the token in no spelling", function()
    local s = spellings(TOKEN)
    assert.are_not.equal(s[1], s[2]) -- "/" escaped: a real other spelling
    sb:reset()
    sb:fault({ path = "/user/api/me", status = 503, times = 1, headers = { ["X-Echo"] = s[1], ["X-Echo-Json"] = s[2],
      ["X-Echo-Pct"] = s[3] }, body = cjson.encode({ message = "echo " .. TOKEN .. " " .. s[3] .. " " .. s[4] }) })
    local out, err, code = proxyshard("--debug --base-url " .. q(sb.url) .. " me", { PROXYSHARD_TOKEN = TOKEN })
    assert.are.equal(0, code, err)
    assert.matches("^dev@sandbox", out)
    assert.matches("proxyshard debug: > GET " .. sb.url:gsub("%p", "%%%0") .. "/user/api/me %(attempt 1%)\n", err)
    assert.matches("proxyshard debug: < HTTP 503 in [%d.]+ s %(attempt 1%)\n", err)
    assert.matches("proxyshard debug: <   x%-echo: %[redacted%]\n", err)
    assert.matches("proxyshard debug: <   x%-echo%-json: %[redacted%]\n", err)
    assert.matches("proxyshard debug: <   x%-echo%-pct: %[redacted%]\n", err)
    assert.matches("proxyshard debug: > GET .- %(attempt 2%)\n", err)
    assert.matches("proxyshard debug: < HTTP 200 in [%d.]+ s %(attempt 2%)\n", err)
    for _, spelling in ipairs(s) do
      assert.is_nil(err:find(spelling, 1, true), spelling)
      assert.is_nil(out:find(spelling, 1, true), spelling)
    end
    -- and the redactor finds none of them either (any mix of spellings)
    local r = redact.new(TOKEN)
    assert.are.equal(err, r(err))
  end)

  it("logs an answer that never came, and the error with its body's token redacted", function()
    sb:reset()
    sb:fault({ path = "/user/api/me", status = 400, times = 1, body = cjson.encode({ message = "bad " .. TOKEN }) })
    local _, err, code = proxyshard("--debug --base-url " .. q(sb.url) .. " me", { PROXYSHARD_TOKEN = TOKEN })
    assert.are.equal(7, code)
    assert.matches("proxyshard debug: < HTTP 400", err, 1, true)
    assert.is_nil(err:find(TOKEN, 1, true))
    _, err = proxyshard("--debug --base-url http://127.0.0.1:1 --timeout 2 me", { PROXYSHARD_TOKEN = TOKEN })
    assert.matches("proxyshard debug: < no answer: network: .-%(attempt 1%)\n", err)
  end)
end)

describe("--output, --columns and --no-header", function()
  local ROWS = {
    { id = 1, name = "plain", note = "a, \"quoted\" one" },
    { id = 2, name = "tab\there", note = "two\nlines\\" },
    { id = 3, name = nil, note = "" },
  }

  it("print tsv (escaped, never refused) and csv (RFC 4180) of the table's rows and cells", function()
    assert.are.equal(table.concat({ "id,name,note", '1,plain,"a, ""quoted"" one"', '2,tab\there,"two\nlines\\"',
      "3,," }, "\n"), render.table(ROWS, { "id", "name", "note" }, { format = "csv" }))
    assert.are.equal(table.concat({ "id\tname\tnote", "1\tplain\ta, \"quoted\" one", "2\ttab\\there\ttwo\\nlines\\\\",
      "3\t\t" }, "\n"), render.table(ROWS, { "id", "name", "note" }, { format = "tsv" }))
    assert.are.equal("ID  NAME   NOTE\n1   plain  a, \"quoted\" one",
      render.table({ ROWS[1] }, { "id", "name", "note" }))
    -- picked and ordered, any spelling; without the header
    assert.are.equal("a, \"quoted\" one  1", render.table({ ROWS[1] }, { "id", "name", "note" },
      { columns = { "NOTE", "Id" }, header = false }))
    assert.are.equal("note,id\n\"a, \"\"quoted\"\" one\",1", render.table({ ROWS[1] }, { "id", "name", "note" },
      { format = "csv", columns = { "note", "id" } }))
    -- an empty list: its header, or nothing
    assert.are.equal("id,name", render.table({}, { "id", "name" }, { format = "csv" }))
    assert.are.equal("", render.table({}, { "id", "name" }, { format = "csv", header = false }))
    local text, err = render.table(ROWS, { "id", "name", "note" }, { columns = { "nmae" } })
    assert.is_nil(text)
    assert.are.equal("--columns", err.argument)
    assert.are.equal('--columns names "nmae", which this table does not have (did you mean "name"?); its columns: '
      .. "id,name,note", err.message)
  end)

  describe("on the commands", function()
    local sb
    setup(function() sb = sandbox_process.start() end)
    teardown(function() if sb then sb:stop() end end)
    before_each(function() sb:reset() end)

    local function run(args, env)
      env = env or {}
      env.PROXYSHARD_SANDBOX_URL = sb.url
      return proxyshard("--sandbox " .. args, env)
    end

    it("shape a row command's page: csv, tsv, columns, no header; the line under it on stderr", function()
      local out, err, code = run("--output csv sub-users premium")
      assert.are.equal(0, code, err)
      assert.are.equal("user_id,first_name,data,data_spent,data_remain\nu-1,team-a,5,1,4\nu-2,team-b,3,3,0\n", out)
      assert.are.equal("(count: 2)\n", err)
      out, err = run("--output tsv --columns data-remain,user_id --no-header sub-users premium")
      assert.are.equal("4\tu-1\n0\tu-2\n", out)
      assert.are.equal("(count: 2)\n", err)
      out = run("--columns user_id,data sub-users premium")
      assert.are.equal("USER ID  DATA\nu-1      5\nu-2      3\n(count: 2)\n", out)
      out = run("--no-header --output table sub-users premium")
      assert.matches("^u%-1  ", out)
      -- every page (--all): the list's rows
      out, err = run("--output csv --columns user_id sub-users premium --all")
      assert.are.equal("user_id\nu-1\nu-2\n", out)
      assert.are.equal("", err)
      -- one model: one row
      out = run("--output csv --columns email,active_orders me")
      assert.are.equal("email,active_orders\ndev@sandbox.proxyshard.test,4\n", out)
    end)

    it("refuse an unknown column with the closest name, and JSON with them (exit 2)", function()
      local out, err, code = run("--columns user_id,dta sub-users premium")
      assert.are.equal(2, code)
      assert.are.equal("", out)
      assert.matches('--columns names "dta", which this table does not have (did you mean "data"?)', err, 1, true)
      out, err, code = run("--json --columns user_id sub-users premium")
      assert.are.equal(2, code)
      assert.matches("--columns shapes a table: not with JSON output", err, 1, true)
      assert.are.equal(2, cjson.decode(out).exit)
      _, err, code = run("--output xml me")
      assert.are.equal(2, code)
      assert.matches('--output must be json, table, tsv or csv, got "xml"', err, 1, true)
      _, err, code = run("--json --output csv me")
      assert.are.equal(2, code)
      assert.matches("--json and --output csv are two outputs: give one", err, 1, true)
      out, _, code = run("--output json me")
      assert.are.equal(0, code)
      assert.is_true(cjson.decode(out).ok)
    end)

    it("shape the hand-written commands' tables: proxies, orders, pending, top-up", function()
      local out, err, code = run("--output csv --columns order_id,ip,password proxies 12345")
      assert.are.equal(0, code, err)
      assert.matches("^order_id,ip,password\n12345,[%d.]+,%S+\n", out)
      out, err, code = run("--output tsv --columns order_id,status orders --limit 2")
      assert.are.equal(0, code, err)
      assert.matches("^order_id\tstatus\n%d+\t%a+\n%d+\t%a+\n$", out)
      assert.matches("more from --offset 2", err, 1, true)
      out, err, code = run("--output csv pending")
      assert.are.equal(0, code, err)
      assert.are.equal("id,at,operation,what,price,state,note\n", out)
      out, err, code = run("--output csv --columns order_id,outcome top-up --free 4 --max-total 5.00 12345 --yes")
      assert.are.equal(0, code, err)
      assert.are.equal("order_id,outcome\n12345,bought\n", out)
      assert.matches("^bought %d p0f slots on 1 orders for %$[%d.]+ in all %(cap %$5%.00%)\n$", err)
    end)

    it("are refused before a spend or a change sends anything", function()
      local out, err, code = run("--columns order_id,outcom top-up --free 9 --max-total 5.00 12345 --yes")
      assert.are.equal(2, code)
      assert.matches('did you mean "outcome"', err, 1, true)
      assert.are.equal("", out)
      assert.are.equal(0, sb:spent())
      _, err, code = run("--output csv purchase 12345 p0f_slots 1 --max-total 1.00 --yes")
      assert.are.equal(2, code)
      assert.matches("--output applies to a command whose result is a list: purchase changes the account", err, 1,
        true)
      assert.are.equal(0, sb:spent())
      assert.are.equal(0, #sb:requests())
    end)
  end)
end)

describe("messages in flags, never Lua", function()
  local sb
  setup(function() sb = sandbox_process.start() end)
  teardown(function() if sb then sb:stop() end end)
  before_each(function() sb:reset() end)

  local function run(args)
    return proxyshard("--sandbox " .. args, { PROXYSHARD_SANDBOX_URL = sb.url })
  end

  it("name the flag of a bad setting", function()
    for args, message in pairs {
      ["--timeout 0 me"] = "--timeout must be a number of seconds in (0, 3600], got 0",
      ["--lock-wait 4000 me"] = "--lock-wait must be a number of seconds from 0 to 3600, got 4000",
      ["--base-url ftp://x me"] = '--base-url must look like https://host[:port][/path], got "ftp://x"',
      ["--ca-file '' me"] = "--ca-file must be a path to a PEM file",
    } do
      local out, err, code = run(args)
      assert.are.equal(2, code, args)
      assert.are.equal("", out)
      assert.matches(message, err, 1, true)
    end
  end)

  it("say dollars for --max-total, --max-total for max_total, --reconcile for reconcile = true", function()
    local _, err, code = run("purchase 12345 p0f_slots 1 --max-total abc --yes")
    assert.are.equal(2, code)
    assert.are.equal('proxyshard invalid_argument error: --max-total must be money, got "abc"; give dollars, such as '
      .. "1.00 (or 1 for $1.00)\n", err)
    _, err, code = run("purchase 12345 p0f_slots 1 --max-total 1.2.3 --yes")
    assert.are.equal(2, code)
    assert.are.equal('proxyshard invalid_argument error: --max-total is not an amount: not a decimal amount: "1.2.3"; '
      .. "give dollars, such as 1.00 (or 1 for $1.00)\n", err)
    _, err, code = run("purchase 12345 p0f_slots 1 --max-total -1 --yes")
    assert.are.equal(2, code)
    assert.are.equal("proxyshard invalid_argument error: --max-total must not be negative, got -$1.00\n", err)
    _, err, code = run("purchase 12345 p0f_slots 2 --max-total 0.50 --yes")
    assert.are.equal(3, code)
    assert.are.equal("proxyshard budget error: p0f_slots +2 on order 12345 costs $0.60, above --max-total $0.50: "
      .. "nothing was bought\n", err)
    _, err, code = run("purchase 12345 p0f_slots 1 --max-total 1 --settle 5 --yes")
    assert.are.equal(2, code)
    assert.are.equal("proxyshard invalid_argument error: --settle applies only with --reconcile\n", err)
    assert.are.equal(0, sb:spent())
    -- --json says it in the same words
    local out = run("--json purchase 12345 p0f_slots 1 --max-total abc --yes")
    local doc = cjson.decode(out)
    assert.are.equal("--max-total", doc.error.argument)
    assert.matches("give dollars", doc.error.message, 1, true)
  end)

  it("translate at the command's edge only: the library keeps its Lua names", function()
    local ok, err = pcall(require("proxyshard").new, { token = "some-token-123", base_url = "http://203.0.113.1" })
    assert.is_false(ok)
    assert.matches("allow_insecure = true", err.message, 1, true)
    local _, amount = require("proxyshard.check.validate").amount("abc", "max_total")
    assert.matches("write cents as an integer", amount.message, 1, true)
    -- and every Lua phrase the command can meet, said in flags
    for message, said in pairs {
      ["the call's time ran out (timeout = 30 s) before the request was sent"] =
        "the call's time ran out (--timeout 30) before the request was sent",
      ["boom; no time left for another try within timeout = 2.5 s"] = "boom; no time left for another try within "
        .. "--timeout 2.5",
      ["p costs $1.00, above max_total $0.50: nothing was bought"] = "p costs $1.00, above --max-total $0.50: nothing "
        .. "was bought",
      ["p has no price (none), so max_total $1.00 cannot be checked"] = "p has no price (none), so --max-total $1.00 "
        .. "cannot be checked",
      ["is not on loopback and the base URL is plain http: ...; use an https base URL, a loopback proxy, no proxy, "
        .. "or allow_insecure = true"] = "is not on loopback and the base URL is plain http: ...; use an https base "
        .. "URL, a loopback proxy, no proxy, or --allow-insecure",
      ["x (y): settle it first (client:settle(), proxyshard pending --settle); nothing was sent"] =
        "x (y): settle it first (`proxyshard pending --settle`); nothing was sent",
    } do
      assert.are.equal(said, context.speak(errors.new("api", message)).message)
    end
    -- a command's own option: its flag
    local e = context.speak(errors.invalid("promo_code", "must be text"), { promo_code = "--promo-code" })
    assert.are.equal("--promo-code must be text", e.message)
    assert.are.equal("--promo-code", e.argument)
    -- a positional keeps its name (the usage line's)
    assert.are.equal("order_id must be a positive integer", context.speak(errors.invalid("order_id",
      "must be a positive integer")).message)
  end)
end)

describe("negative numbers", function()
  it("are values, not options, on both parser paths", function()
    for _, argv in ipairs {
      { "order", "-5" }, { "order", "-1.5" }, { "--timeout", "-5", "me" }, { "--timeout=-5", "me" },
      { "orders", "--limit", "-3" }, { "quote", "12345", "p0f_slots", "-2" }, { "--json", "order", "-5" },
      { "--lock-wait", "-1", "--json", "me" },
    } do
      local command
      for _, a in ipairs(argv) do command = command or commands.lookup(a) end
      local fast = parser.quick(argv, command)
      local ok, whole = parser.parse_all(argv)
      assert.is_true(ok, table.concat(argv, " ") .. ": " .. tostring(whole))
      if not command.configure then -- a hand-written command is argparse's only
        assert.is_table(fast, table.concat(argv, " "))
        assert.are.same(whole, fast)
      end
      -- argparse alone calls "-5" an option; the command does not
      if argv[#argv] == "-5" then assert.is_false((parser.build({ command }):pparse(argv))) end
      local ok3, lazy = parser.parse(argv)
      assert.is_true(ok3)
      assert.are.same(whole, lazy)
    end
    assert.are.equal("-5", select(2, parser.parse_all({ "order", "-5" })).order_id)
    assert.are.equal(-5, select(2, parser.parse_all({ "--timeout", "-5", "me" })).timeout)
    -- a word that is no number is still an option
    local ok, message = parser.parse({ "order", "-x" })
    assert.is_false(ok)
    assert.matches("unknown option '-x'", message, 1, true)
  end)

  describe("reach the validator", function()
    local sb
    setup(function() sb = sandbox_process.start() end)
    teardown(function() if sb then sb:stop() end end)

    it("which refuses them in its own words (exit 2, nothing sent)", function()
      for args, message in pairs {
        ["order -5"] = 'order_id must be a positive integer, got "-5"',
        ["order -1.5"] = 'order_id must be a positive integer, got "-1.5"',
        ["quote 12345 p0f_slots -2"] = "add_qty must be an integer from 1 to",
        ["orders --limit -3"] = '--limit must be an integer from 1 to 100, got "-3"',
        ["--timeout -5 me"] = "--timeout must be a number of seconds in (0, 3600], got -5",
      } do
        local out, err, code = proxyshard("--sandbox " .. args, { PROXYSHARD_SANDBOX_URL = sb.url })
        assert.are.equal(2, code, args .. ": " .. err)
        assert.are.equal("", out)
        assert.matches(message, err, 1, true)
        assert.is_nil(err:find("unknown option", 1, true))
      end
      -- before a missing token
      local _, err, code = proxyshard("order -5", {})
      assert.are.equal(2, code)
      assert.matches('order_id must be a positive integer, got "-5"', err, 1, true)
      assert.are.equal(0, #sb:requests())
    end)
  end)
end)
