-- Every example of examples/ run against a fresh sandbox, as its header
-- says to run it: the cron top-up (examples/cron-topup.sh, with the
-- command), the reseller's nginx handler (examples/reseller/, in a real
-- nginx), residential sub-user provisioning
-- (examples/provision_sub_users.lua), the desired state applied from cron
-- (examples/cron-apply.sh, examples/desired-state.lua), the REPL session
-- (examples/repl-session.txt, replayed) and the demo's examples/topup.lua.
-- examples/map_topup.lua has its own spec.
local cjson = require "cjson"
local socket = require "socket"
local shell = require "support.shell"
local sandbox_process = require "support.sandbox_process"

local q, sh, run, read_file, write_file = shell.q, shell.sh, shell.run, shell.read_file, shell.write_file
local ROOT = run("pwd"):gsub("%s+$", "")
local LUA_ENV = ("LUA_PATH_5_4=%s LUA_CPATH_5_4=%s"):format(q(ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;;"),
  q(ROOT .. "/build/lib/?.so;;"))

local function literal(s) return (s:gsub("%p", "%%%0")) end

describe("the examples, against the sandbox", function()
  local sb, env

  setup(function()
    sb = sandbox_process.start()
    env = ("PROXYSHARD_TOKEN=sandbox-token PROXYSHARD_BASE_URL=%s"):format(q(sb.url))
  end)

  teardown(function()
    if sb then sb:stop() end
  end)

  before_each(function()
    sb:reset()
  end)

  local function spent() return sb:spent() end

  describe("examples/cron-topup.sh", function()
    local state

    before_each(function()
      state = shell.tmpdir("proxyshard-cron")
    end)

    after_each(function()
      sh("rm -rf " .. q(state))
    end)

    -- one cron run: its output (stdout and stderr) and exit status
    local function cron(settings)
      local out, _, code = run(("cd / && env -i PATH=%s %s STATE_DIR=%s PROXYSHARD=%s %s sh %s/examples/cron-topup.sh "
        .. "2>&1"):format(q(os.getenv("PATH")), env, q(state), q(ROOT .. "/bin/proxyshard"), settings or "", q(ROOT)))
      return out, code
    end

    local function log()
      local docs = {}
      for line in (read_file(state .. "/topup.jsonl") or ""):gmatch("[^\n]+") do
        docs[#docs + 1] = cjson.decode(line)
      end
      return docs
    end

    it("tops up every active order; the next run buys nothing", function()
      local out, code = cron("FREE=3 MAX_TOTAL=5.00")
      assert.are.equal(0, code, out)
      assert.are.equal(120, spent()) -- 12345: 1 slot, 12347: 3 slots, at $0.30
      out, code = cron("FREE=3 MAX_TOTAL=5.00")
      assert.are.equal(0, code, out)
      assert.are.equal(120, spent())
      local docs = log()
      assert.are.equal(2, #docs)
      assert.are.same({ 4, 120 }, { docs[1].result.bought, docs[1].result.spent_cents })
      assert.are.same({ 0, 0 }, { docs[2].result.bought, docs[2].result.spent_cents })
    end)

    it("reports a cap that ran out (exit 3), having spent no more than it", function()
      local out, code = cron("FREE=5 MAX_TOTAL=1.00")
      assert.are.equal(3, code, out)
      assert.matches("the cap of %$1%.00 ran out", out)
      assert.is_true(spent() <= 100)
    end)

    it("exits 11 while another run holds the account's lock, buying nothing", function()
      -- this process holds it, as a run still going would
      local client = require("proxyshard").new { token = "sandbox-token", base_url = sb.url }
      local release = assert(require("proxyshard.jobs.lock").take(client, { dir = state, command = "a spec" }))
      local out, code = cron("FREE=3 MAX_TOTAL=5.00 LOCK_WAIT=0")
      release()
      assert.are.equal(11, code, out)
      assert.matches("another run is spending for this account: pid %d+ on .* %(a spec%)", out)
      assert.matches("another run is still going after 0s; this one bought nothing", out)
      assert.are.equal(0, spent())
      out, code = cron("FREE=3 MAX_TOTAL=5.00 LOCK_WAIT=0")
      assert.are.equal(0, code, out)
      assert.are.equal(120, spent())
    end)

    it("reads the token from TOKEN_FILE", function()
      write_file(state .. "/token", "sandbox-token\n")
      local out, _, code = run(("cd / && env -i PATH=%s PROXYSHARD_BASE_URL=%s STATE_DIR=%s PROXYSHARD=%s "
        .. "TOKEN_FILE=%s FREE=1 sh %s/examples/cron-topup.sh 2>&1"):format(q(os.getenv("PATH")), q(sb.url), q(state),
        q(ROOT .. "/bin/proxyshard"), q(state .. "/token"), q(ROOT)))
      assert.are.equal(0, code, out)
      assert.are.equal(30, spent()) -- 12347: one slot
    end)
  end)

  describe("examples/cron-apply.sh with examples/desired-state.lua", function()
    local state

    before_each(function()
      state = shell.tmpdir("proxyshard-apply")
    end)

    after_each(function()
      sh("rm -rf " .. q(state))
    end)

    local function proxyshard(args)
      local out, _, code = run(("cd / && env -i PATH=%s %s PROXYSHARD_STATE_DIR=%s %s/bin/proxyshard %s 2>&1")
        :format(q(os.getenv("PATH")), env, q(state), q(ROOT), args))
      return out, code
    end

    local function cron()
      local out, _, code = run(("cd / && env -i PATH=%s %s PROXYSHARD_STATE_DIR=%s PROXYSHARD=%s MAX_TOTAL=15.00 "
        .. "sh %s/examples/cron-apply.sh %s/examples/desired-state.lua 2>&1"):format(q(os.getenv("PATH")), env,
        q(state), q(ROOT .. "/bin/proxyshard"), q(ROOT), q(ROOT)))
      return out, code
    end

    it("plans a spend and a free change, applies them once; the next run does nothing", function()
      local out, code = proxyshard("--json plan " .. q(ROOT .. "/examples/desired-state.lua"))
      assert.are.equal(2, code, out)
      local plan = cjson.decode(out).result
      local spends, free = 0, 0
      for _, a in ipairs(plan.actions) do
        if a.spends then spends = spends + 1 else free = free + 1 end
      end
      assert.is_true(spends >= 1 and free >= 1, out)
      out, code = cron()
      assert.are.equal(0, code, out)
      assert.matches("applied: %d+ done, 0 failed, 0 unknown, 0 not done", out)
      assert.are.equal(plan.total_cents, spent())
      local ledger = #sb:ledger()
      out, code = cron()
      assert.are.equal(0, code, out)
      assert.are.equal("", out) -- plan said 0: nothing to do, nothing printed
      assert.are.equal(ledger, #sb:ledger())
    end)
  end)

  describe("examples/provision_sub_users.lua", function()
    local function provision()
      local out, _, code = run(("cd %s && %s %s lua5.4 examples/provision_sub_users.lua 2>&1")
        :format(q(ROOT), env, LUA_ENV))
      return out, code
    end

    it("creates and tops up the teams' sub-users, prints their logins; run again, it changes nothing", function()
      local out, code = provision()
      assert.are.equal(0, code, out)
      assert.matches("team%-a%s+topped up by 1 GB to 6 GB", out)
      assert.matches("crawlers%s+created with 3 GB", out)
      assert.matches("\nlogin qa%s+user u%-%d+, password %S+, 1 GB", out)
      assert.matches("\n3 changes\n", out)
      out, code = provision()
      assert.are.equal(0, code, out)
      assert.matches("crawlers%s+has 3 GB: nothing to do", out)
      assert.matches("\n0 changes\n", out)
    end)
  end)

  describe("examples/repl-session.txt", function()
    it("is what the REPL answers, line for line", function()
      local transcript = assert(read_file(ROOT .. "/examples/repl-session.txt"))
      -- the comment lines on top, then what the REPL printed
      local session = assert(transcript:match("\n(Lua 5%.4.*)$"), "no session in examples/repl-session.txt")
      local inputs = {}
      for line in session:gmatch("[^\n]*") do
        local typed = line:match("^> (.+)$")
        if typed then inputs[#inputs + 1] = typed end
      end
      local file = os.tmpname()
      write_file(file, table.concat(inputs, "\n") .. "\n")
      local out = run(("cd %s && lua5.4 bin/proxyshard --sandbox --base-url %s repl <%s 2>&1")
        :format(q(ROOT), q(sb.url), q(file)))
      os.remove(file)
      local function normal(text)
        return (text:gsub(literal(sb.url), "http://127.0.0.1:8089"):gsub("Lua 5%.4%.%d+", "Lua 5.4.x")
          :gsub("proxyshard [%d.]+:", "proxyshard VERSION:"))
      end
      assert.are.equal(normal(session), normal(out))
    end)
  end)

  describe("examples/topup.lua", function()
    it("runs and spends exactly its $0.60", function()
      local out, _, code = run(("cd %s && %s %s lua5.4 examples/topup.lua 2>&1"):format(q(ROOT), env, LUA_ENV))
      assert.are.equal(0, code, out)
      assert.matches("spent%s+%$0%.60", out)
      assert.are.equal(60, spent())
    end)
  end)
end)

-- examples/reseller/nginx.conf as written, pointed at the sandbox: plain
-- HTTP instead of TLS, the checkout instead of /opt/proxyshard, a free
-- port, a temporary prefix.
describe("examples/reseller (a real nginx)", function()
  local NGINX = io.open("/usr/sbin/nginx") and "/usr/sbin/nginx" or "nginx"
  local sb, nginx_pid, nginx_pipe, prefix, port

  local function http(method, path, key, body)
    local c = socket.tcp()
    c:settimeout(30)
    assert(c:connect("127.0.0.1", port))
    body = body and cjson.encode(body) or ""
    c:send(("%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n%sContent-Length: %d\r\n\r\n%s"):format(method, path,
      key and ("Authorization: Bearer " .. key .. "\r\n") or "", #body, body))
    local raw = c:receive("*a") or ""
    c:close()
    local status = tonumber(raw:match("^HTTP/1%.%d (%d%d%d)"))
    local answer = raw:match("\r\n\r\n(.*)$") or ""
    return status, answer ~= "" and cjson.decode(answer) or nil, answer
  end

  local function render(sandbox_port)
    local conf = assert(read_file(ROOT .. "/examples/reseller/nginx.conf"))
    local function once(from, to)
      local i, j = conf:find(from, 1, true)
      assert(i and not conf:find(from, j + 1, true), "examples/reseller/nginx.conf has not one " .. from)
      conf = conf:sub(1, i - 1) .. to .. conf:sub(j + 1)
    end
    once("server user-api.proxyshard.com:443;", "server 127.0.0.1:" .. sandbox_port .. ";")
    once("proxy_pass https://proxyshard_api/;", "proxy_pass http://proxyshard_api/;")
    conf = conf:gsub("\n%s*proxy_ssl_[^\n]*", "")
    conf = conf:gsub("/opt/proxyshard/", ROOT .. "/")
    once("listen 127.0.0.1:8080;", "listen 127.0.0.1:" .. port .. ";")
    once("\nevents {", ("\ndaemon off; pid %s/nginx.pid; error_log %s/error.log;%s\nevents {"):format(prefix, prefix,
      run("id -u"):match("^0%s*$") and " user root;" or ""))
    once("\nhttp {\n", ("\nhttp {\n  access_log %s/access.log; client_body_temp_path %s/body;\n"
      .. "  proxy_temp_path %s/proxy; fastcgi_temp_path %s/fastcgi; uwsgi_temp_path %s/uwsgi;\n"
      .. "  scgi_temp_path %s/scgi;\n")
      :format(prefix, prefix, prefix, prefix, prefix, prefix))
    return conf
  end

  setup(function()
    assert(io.open("/usr/lib/nginx/modules/ngx_http_lua_module.so"), "nginx with libnginx-mod-http-lua is needed")
    assert(sh("scripts/build-luajit.sh >/dev/null"), "scripts/build-luajit.sh failed")
    sb = sandbox_process.start()
    prefix = shell.tmpdir("proxyshard-reseller")
    port = shell.free_port()
    write_file(prefix .. "/nginx.conf", render(tonumber(sb.url:match(":(%d+)$"))))
    nginx_pipe = assert(io.popen(("echo $$; exec env PROXYSHARD_TOKEN=sandbox-token %s -p %s/ -c %s/nginx.conf "
      .. ">%s/stderr.log 2>&1 </dev/null"):format(NGINX, prefix, prefix, prefix)))
    nginx_pid = assert(tonumber(nginx_pipe:read("l")))
    local up = shell.wait_for(function()
      local c = socket.tcp()
      c:settimeout(1)
      local ok = c:connect("127.0.0.1", port)
      c:close()
      return ok
    end, 20)
    assert(up, "nginx did not start: " .. tostring(read_file(prefix .. "/stderr.log"))
      .. tostring(read_file(prefix .. "/error.log")))
  end)

  teardown(function()
    if nginx_pid then
      sh("kill -QUIT " .. nginx_pid .. " 2>/dev/null")
      shell.wait_for(function() return not read_file("/proc/" .. nginx_pid .. "/stat") end, 10)
      sh("kill -KILL " .. nginx_pid .. " 2>/dev/null")
      nginx_pipe:close()
    end
    if prefix then sh("rm -rf " .. q(prefix)) end
    if sb then sb:stop() end
  end)

  before_each(function()
    sb:reset()
  end)

  it("shows customers their own proxies, with a key of their own", function()
    local status, body, raw = http("GET", "/v1/proxies", "acme-7f3c")
    assert.are.equal(200, status, raw)
    assert.are.equal(5, #body.proxies)
    assert.are.equal("203.0.113.10", body.proxies[1].ip)
    status = http("GET", "/v1/proxies", "nobody")
    assert.are.equal(401, status)
    status, body = http("GET", "/v1/proxies", "globex-91d2")
    assert.are.equal(200, status)
    assert.are.equal(2, #body.proxies)
  end)

  it("signs an IP, buying a p0f slot only when none is free", function()
    -- order 12345: 3 slots, 1 used, so two free
    for _, ip in ipairs { "203.0.113.11", "203.0.113.12" } do
      local status, body, raw = http("POST", "/v1/signature", "acme-7f3c", { ip = ip, signature = "win11" })
      assert.are.equal(200, status, raw)
      assert.are.equal(0, body.slots_bought)
    end
    assert.are.equal(0, #sb:ledger())
    local status, body, raw = http("POST", "/v1/signature", "acme-7f3c", { ip = "203.0.113.13", signature = "macos" })
    assert.are.equal(200, status, raw)
    assert.are.equal(1, body.slots_bought)
    local ledger = sb:ledger()
    assert.are.equal(1, #ledger)
    assert.are.equal(30, ledger[1].amount_cents)
    -- signed already: no slot needed to change it
    status, body = http("POST", "/v1/signature", "acme-7f3c", { ip = "203.0.113.13", signature = "linux" })
    assert.are.equal(200, status)
    assert.are.equal(0, body.slots_bought)
  end)

  it("refuses another customer's IP, and says why in JSON", function()
    local status, body = http("POST", "/v1/signature", "globex-91d2", { ip = "203.0.113.11", signature = "win11" })
    assert.are.equal(404, status)
    assert.are.equal("not_found", body.error)
    status, body = http("POST", "/v1/signature", "acme-7f3c", { ip = "203.0.113.11", signature = "beos" })
    assert.are.equal(400, status)
    assert.are.equal("invalid_argument", body.error)
    assert.are.equal(0, #sb:ledger())
  end)
end)
