-- The `proxyshard` command (bin/proxyshard, lua/proxyshard/cli/): its
-- commands made from the operation table, its text and JSON output, its
-- exit statuses, the confirmation before spending, the top-up over many
-- orders under one cap, and the token never printed. Most of it drives
-- bin/proxyshard as a process against a sandbox process, as a script or
-- cron would; the prompt and the progress bar, which need a terminal, run
-- in-process with a terminal faked (proxyshard.cli.system), and once under
-- tmux on a real one.
local cjson = require "cjson"
local shell = require "support.shell"
local sandbox_process = require "support.sandbox_process"
local operations = require "proxyshard.operations"
local errors = require "proxyshard.errors"
local commands = require "proxyshard.cli.commands"
local parser = require "proxyshard.cli.parser"
local exit = require "proxyshard.cli.exit"
local values = require "proxyshard.cli.values"
local render = require "proxyshard.cli.render"
local progress = require "proxyshard.cli.progress"
local cli = require "proxyshard.cli"

local q = shell.q
local ROOT = shell.run("pwd"):gsub("%s+$", "")

-- bin/proxyshard as a process (support.command): stdout, stderr, exit status
local proxyshard = require("support.command").run

local function json_of(out)
  local doc = cjson.decode(out)
  assert.is_table(doc, "not one JSON document: " .. out)
  return doc
end

-- A fake system for in-process runs: streams collected, a terminal or not.
local function fake_system(opts)
  local out, err, input = {}, {}, opts.input or {}
  return {
    out = function(t) out[#out + 1] = t end,
    err = function(t) err[#err + 1] = t end,
    read_line = function() return table.remove(input, 1) end,
    getenv = function(name) return (opts.env or {})[name] end,
    is_tty = function(fd) return opts.tty == true or (type(opts.tty) == "table" and opts.tty[fd]) or false end,
    echo = function() end,
    execute = os.execute,
    open = io.open,
    now = function() return opts.now or os.time() end,
    stdout = function() return table.concat(out) end,
    stderr = function() return table.concat(err) end,
  }
end

describe("the commands", function()
  it("are one per operation row, named after it or its row's own command name, plus top-up and repl", function()
    local all = commands.all()
    -- a hand-written command may serve a row in place of the one it would make (proxies, orders, renew)
    local served = 0
    for _, module in ipairs(commands.HAND_WRITTEN) do
      if require(module).command.serves then served = served + 1 end
    end
    assert.are.equal(3, served)
    assert.are.equal(#operations.rows + #commands.HAND_WRITTEN - served, #all)
    for _, row in ipairs(operations.rows) do
      local command = commands.for_row(row)
      assert.is_table(command, row.handle .. "." .. row.name)
      local expected = row.command or row.name:gsub("_", "-")
      assert.are.equal(expected, command.name)
    end
    for _, name in ipairs { "orders", "order", "quote", "purchase", "sign", "sub-users", "top-up", "repl" } do
      assert.is_table(commands.find(name), name)
    end
  end)

  it("take the handle's parameters first, then the row's arguments, and the rest as --options", function()
    local purchase = commands.find("purchase")
    local names = {}
    for i, p in ipairs(purchase.positionals) do names[i] = p.name end
    assert.are.same({ "order_id", "addon_key", "add_qty" }, names)
    assert.are.equal("proxyshard purchase ORDER_ID ADDON_KEY ADD_QTY [--max-total DOLLARS] [--reconcile] "
      .. "[--settle SECONDS] [--yes] [--dry-run]", commands.usage(purchase))
    assert.are.equal("proxyshard sign ORDER_ID IP=SIGNATURE...", commands.usage(commands.find("sign")))
    assert.are.equal("proxyshard orders [--status STATUS] [--expiring DAYS] [--offset N] [--limit N] [--all] "
      .. "[--concurrency N]",
      commands.usage(commands.find("orders")))
    assert.are.equal("proxyshard add-data PROXY_TYPE USER_ID GB", commands.usage(commands.find("add-data")))
    -- every spending command takes the cap
    assert.are.equal("proxyshard add-bandwidth ORDER_ID GB [--promo-code PROMO_CODE] [--max-total DOLLARS] "
      .. "[--reconcile] [--settle SECONDS] [--yes] [--dry-run]", commands.usage(commands.find("add-bandwidth")))
    assert.are.equal("proxyshard renew [ORDER... | --expiring DAYS] [--max-total DOLLARS] [--concurrency N] "
      .. "[--reconcile] [--settle SECONDS] [--yes] [--dry-run]", commands.usage(commands.find("renew")))
  end)

  it("refuse two commands of one name", function()
    -- a new row named like an existing one, on another handle
    local me = operations.find("client", "me")
    local twin = setmetatable({ handle = "order" }, { __index = me })
    local ok, err = pcall(commands.make, { me, twin })
    assert.is_false(ok)
    assert.matches('two commands are named "me" %(client.me and order.me%)', err)
  end)

  it("all have a --help of their own", function()
    for _, command in ipairs(commands.all()) do
      local ok, text = parser.parse({ command.name, "--help" })
      assert.are.equal("help", ok, command.name)
      assert.matches("Usage: proxyshard " .. command.name:gsub("%-", "%%-"), text)
    end
  end)

  it("are all listed by `proxyshard --help`, with the exit statuses", function()
    local out, err, code = proxyshard("--help")
    assert.are.equal(0, code, err)
    for _, command in ipairs(commands.all()) do
      assert.matches("\n   " .. command.name:gsub("%-", "%%-") .. "%s", out, 1)
    end
    for _, c in ipairs(exit.CODES) do
      assert.matches(("\n  %-3d %-16s "):format(c[1], c[2]):gsub("%p", "%%%0"), out)
    end
    assert.matches("PROXYSHARD_TOKEN", out)
  end)
end)

describe("an internal error", function()
  it("is one line on stderr and a file with the details, never a traceback", function()
    local state = shell.tmpdir("proxyshard-cli-crash")
    local sys = fake_system { env = { PROXYSHARD_STATE_DIR = state } }
    sys.out = function() error("a bug in the output") end
    local code = cli.protected_main({ "--json", "bogus" }, sys)
    assert.are.equal(1, code)
    local err = sys.stderr()
    local line, path = err:match("(proxyshard: internal error %(please report it%): [^\n]*a bug in the output"
      .. "; the details are in ([^\n]+))\n$")
    assert.is_string(line, err)
    assert.is_nil(err:find("stack traceback", 1, true))
    local details = assert(shell.read_file(path))
    assert.matches("a bug in the output", details)
    assert.matches("stack traceback", details)
    shell.sh("rm -rf " .. q(state))
  end)
end)

describe("exit statuses", function()
  it("give every error kind a status, and tell budget from unknown outcome", function()
    for kind in pairs(errors.KINDS) do
      assert.is_number(exit.BY_KIND[kind], kind)
    end
    assert.are.equal(3, exit.for_error(errors.new("budget", "x")))
    assert.are.equal(4, exit.for_error(errors.new("unknown_outcome", "x")))
    assert.are.equal(5, exit.for_error(errors.new("auth", "x")))
    assert.are.equal(2, exit.for_error(errors.invalid("x", "y")))
    assert.are.equal(4, exit.worst { errors.new("budget", "a"), errors.new("unknown_outcome", "b") })
    assert.are.equal(0, exit.worst {})
  end)

  it("are the command reference's (docs/command.md)", function()
    local doc = assert(shell.read_file("docs/command.md"))
    local section = assert(doc:match("\n## Exit statuses\n(.-)\n## "), "no Exit statuses section in docs/command.md")
    for _, c in ipairs(exit.CODES) do
      assert.matches(("| %d | `%s` |"):format(c[1], c[2]):gsub("%p", "%%%0"), section)
    end
  end)
end)

describe("command-line values", function()
  it("become the library's, or stay text for its validator to refuse", function()
    assert.are.equal(12, values.integer("12"))
    assert.are.equal("1.5", values.integer("1.5"))
    assert.is_true(values.boolean("on"))
    assert.is_false(values.boolean("false"))
    assert.are.equal("maybe", values.boolean("maybe"))
    assert.are.same({ { ip = "2001:db8::1", signature = "win11" } },
      values.signature_items({ "2001:db8::1=win11" }, "items"))
    assert.are.same({ { ip = "203.0.113.7", value = true } }, values.deletion_items({ "203.0.113.7=true" }, "items"))
    assert.are.same({ p0f_slots = 5, other = 2 }, values.addons("p0f_slots=5, other=2", "addons"))
    local none, err = values.signature_items({ "203.0.113.7" }, "items")
    assert.is_nil(none)
    assert.are.equal("invalid_argument", err.kind)
  end)
end)

describe("output", function()
  local money = require "proxyshard.money"

  it("in JSON has amounts as integer cents, in fields named _cents", function()
    local doc = cjson.decode(render.json { total = money.parse("1.50"), list = { { price = money.cents(30) } } })
    assert.are.same({ total_cents = 150, list = { { price_cents = 30 } } }, doc)
  end)

  it("as text has lists as aligned tables and amounts in dollars", function()
    local rows = { { order_id = 1, cost = money.cents(30) }, { order_id = 12345, cost = money.cents(1500) } }
    local text = render.table(rows, { "order_id", "cost" })
    assert.are.equal("ORDER ID  COST\n1         $0.30\n12345     $15.00", text)
  end)

  it("shows a progress bar on a terminal only, and none in --json", function()
    local shown = {}
    local ctx = { json = false, sys = { is_tty = function() return true end },
      err = function(_, t) shown[#shown + 1] = t end }
    local bar = progress.for_run(ctx, 2, "reading")
    bar:step("12345")
    bar:step("12347")
    bar:finish()
    assert.matches("\rreading %[###############...............%] 1/2 12345", table.concat(shown), 1)
    assert.matches("2/2", table.concat(shown))
    shown = {}
    ctx.json = true
    progress.for_run(ctx, 2, "reading"):step("x")
    assert.are.same({}, shown)
    ctx.json, ctx.sys.is_tty = false, function() return false end
    progress.for_run(ctx, 2, "reading"):step("x")
    assert.are.same({}, shown)
  end)
end)

describe("against the sandbox", function()
  local sb, env

  setup(function()
    sb = sandbox_process.start()
    env = { PROXYSHARD_TOKEN = "sandbox-token", PROXYSHARD_BASE_URL = sb.url }
  end)

  teardown(function()
    if sb then sb:stop() end
  end)

  before_each(function()
    sb:reset()
  end)

  local function spent() return sb:spent() end

  describe("a read", function()
    it("prints the order as text, amounts in dollars", function()
      local out, err, code = proxyshard("order 12345", env)
      assert.are.equal(0, code, err)
      assert.are.equal("order 12345 (Datacenter Proxy, monthly, active, 5 IPs, expires 2026-12-01T09:00:00Z, "
        .. "auto-renewal on): p0f_slots: 3 × $0.30; p0f slots 1/3 used, "
        .. "3 next period\n", out)
      assert.are.equal("", err)
    end)

    it("prints one JSON document with --json, amounts in cents", function()
      local out, err, code = proxyshard("--json order 12345", env)
      assert.are.equal(0, code, err)
      local doc = json_of(out)
      assert.is_true(doc.ok)
      assert.are.equal("order", doc.command)
      assert.are.equal(12345, doc.result.order_id)
      assert.are.equal(1500, doc.result.price_paid_cents)
      assert.are.equal(30, doc.result.addons[1].price_per_unit_cents)
    end)

    it("prints a list as an aligned table", function()
      local out, err, code = proxyshard("orders --status active", env)
      assert.are.equal(0, code, err)
      local lines = {}
      for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
      assert.matches("^ORDER ID  PRODUCT NAME%s+CYCLE NAME", lines[1])
      assert.matches("^12345     Datacenter Proxy%s+monthly", lines[2])
      assert.are.equal(lines[1]:find("CYCLE NAME"), lines[2]:find("monthly"))
    end)

    it("reads every page with --all, in the JSON shape of one page", function()
      local out, err, code = proxyshard("--json orders --status all --all", env)
      assert.are.equal(0, code, err)
      local all = json_of(out).result
      assert.are.equal(6, #all.orders)
      assert.are.equal(6, all.count)
      out = proxyshard("--json orders --status all --limit 2", env)
      local page = json_of(out).result
      assert.are.equal(2, #page.orders)
      assert.are.equal(2, page.next_offset)
      for key in pairs(page) do assert.is_not_nil(({ orders = 1, count = 1, next_offset = 1 })[key], key) end
      for key in pairs(all) do assert.is_not_nil(({ orders = 1, count = 1, next_offset = 1 })[key], key) end
    end)

    it("shows status, expiry and days left, IPs, auto-renewal and tag; --expiring DAYS soonest first", function()
      -- the clock of the sandbox's fixture, so that days left do not move with the machine's
      local now = require("proxyshard.wire.time").parse("2026-11-25T12:00:00Z")
      local function run(argv)
        local state = shell.tmpdir("orders")
        local sys = fake_system { env = setmetatable({ PROXYSHARD_STATE_DIR = state }, { __index = env }), now = now }
        local code = cli.main(argv, sys)
        return code, sys.stdout(), sys.stderr()
      end
      local code, out, err = run { "orders", "--status", "all", "--all" }
      assert.are.equal(0, code, err)
      assert.matches("^ORDER ID%s+PRODUCT NAME%s+CYCLE NAME%s+STATUS%s+EXPIRES AT%s+DAYS LEFT%s+IPS%s+AUTO RENEWAL"
        .. "%s+TAG\n", out)
      assert.matches("\n12345%s+Datacenter Proxy%s+monthly%s+active%s+2026%-12%-01T09:00:00Z%s+5%s+5%s+yes"
        .. "%s+sandbox\n", out)
      assert.matches("\n12346%s+ISP Proxy%s+monthly%s+on%-hold%s+2026%-10%-15T12:30:00Z%s+%-41%s+2%s+no", out)
      code, out, err = run { "--json", "orders", "--expiring", "30" }
      assert.are.equal(0, code, err)
      local ids, days = {}, {}
      for i, o in ipairs(json_of(out).result.orders) do ids[i], days[i] = o.order_id, o.days_left end
      assert.are.same({ 12345, 12347 }, ids) -- the active ones with a date within 30 days, soonest first
      assert.are.same({ 5, 25 }, days)
    end)

    it("exits 6 for an order that does not exist, the error's line on stderr", function()
      local out, err, code = proxyshard("--json order 99999", env)
      assert.are.equal(6, code)
      assert.matches("^proxyshard not_found error: .*\n$", err)
      local doc = json_of(out)
      assert.is_false(doc.ok)
      assert.are.equal("not_found", doc.error.kind)
      assert.are.equal(6, doc.exit)
    end)

    it("exits 5 when the token is refused, and when there is none", function()
      local _, err, code = proxyshard("me",
        { PROXYSHARD_TOKEN = "not-the-sandbox-token", PROXYSHARD_BASE_URL = sb.url })
      assert.are.equal(5, code, err)
      _, err, code = proxyshard("me", { PROXYSHARD_BASE_URL = sb.url })
      assert.are.equal(5, code)
      assert.matches("no API token", err)
    end)

    it("exits 2 for a bad command line or argument, and sends nothing", function()
      local _, err, code = proxyshard("bogus", env)
      assert.are.equal(2, code)
      assert.matches("unknown command 'bogus'", err)
      _, err, code = proxyshard("orders --status open", env)
      assert.are.equal(2, code)
      assert.matches("%-%-status must be one of active, on%-hold, cancelled, all", err)
      _, err, code = proxyshard("quote 12345 p0f_slots lots", env)
      assert.are.equal(2, code)
      assert.matches("add_qty must be an integer", err)
      assert.are.equal(0, #sb:requests())
    end)
  end)

  describe("errors that point the right way", function()
    it("a command that deletes asks like a spend: refused off a terminal without --yes, nothing sent", function()
      for _, args in ipairs { "delete-sub-user premium u-1", "set-deletion 12345 203.0.113.10=true" } do
        local before = #sb:requests()
        local out, err, code = proxyshard(args, env)
        assert.are.equal(2, code, args)
        assert.are.equal("", out)
        assert.matches("%-%-yes is needed to do it without a terminal to confirm on: nothing was sent", err)
        assert.are.equal(before, #sb:requests(), args)
      end
      local _, err, code = proxyshard("delete-sub-user premium u-1 --yes", env)
      assert.are.equal(0, code, err)
      local gone
      _, _, gone = proxyshard("sub-user premium u-1", env)
      assert.are.equal(6, gone)
    end)

    it("a command that deletes, answered no on a terminal, sends nothing (exit 10)", function()
      local sys = fake_system { env = setmetatable({ PROXYSHARD_STATE_DIR = shell.tmpdir("ask") }, { __index = env }),
        tty = true, input = { "n" } }
      local before = #sb:requests()
      local code = require("proxyshard.cli").main({ "delete-sub-user", "premium", "u-1" }, sys)
      assert.are.equal(10, code)
      assert.matches("proxyshard sub%-user u%-1 %(premium%): delete the sub%-user\nGo on%? %[y/N%] ", sys.stderr())
      assert.are.equal(before, #sb:requests())
    end)

    it("a 404 from a wrong base URL names the path sent and the base URL", function()
      local _, err, code = proxyshard("--base-url " .. sb.url .. "/v2 order 12345",
        { PROXYSHARD_TOKEN = "sandbox-token" })
      assert.are.equal(6, code)
      assert.matches("HTTP 404 for GET /v2/user/api/orders/12345: the server has no such path: is the base URL "
        .. "%(http://127%.0%.0%.1:%d+/v2%) right%?", err)
      -- the API's own "no such order" stays what it says
      _, err = proxyshard("order 99999", env)
      assert.matches("Order not found", err)
    end)

    it("nothing listening on the local address: says to start the sandbox, the cause said once", function()
      local port = shell.free_port()
      local _, err, code = proxyshard("--sandbox me", { PROXYSHARD_SANDBOX_URL = "http://127.0.0.1:" .. port })
      assert.are.equal(8, code)
      assert.matches("is the sandbox running%? Start it with `proxyshard%-sandbox`", err)
      local _, n = err:gsub("Couldn't connect to server", "")
      assert.are.equal(1, n, err)
    end)
  end)

  describe("output that cannot be written", function()
    it("a full disk: one line on stderr, exit 12", function()
      local dir = shell.tmpdir("proxyshard-full")
      local cmd = ("cd %s && env -i PATH=%s PROXYSHARD_STATE_DIR=%s PROXYSHARD_TOKEN=sandbox-token "
        .. "PROXYSHARD_BASE_URL=%s lua5.4 bin/proxyshard proxies 12345 --format txt >/dev/full 2>%s/err; echo $?")
        :format(q(ROOT), q(os.getenv("PATH")), q(dir), q(sb.url), q(dir))
      local code = shell.run(cmd):gsub("%s+$", "")
      assert.are.equal("12", code)
      assert.are.equal("proxyshard: cannot write to standard output: No space left on device\n",
        shell.read_file(dir .. "/err"))
    end)

    it("a closed pipe: one line on stderr, exit 12, never a silent death by SIGPIPE", function()
      -- a pipe whose reader is gone before the first write (bash waits for it)
      local dir = shell.tmpdir("proxyshard-pipe")
      local script = ("exec 3> >(true); wait $!; cd %s && env -i PATH=%s PROXYSHARD_STATE_DIR=%s "
        .. "PROXYSHARD_TOKEN=sandbox-token PROXYSHARD_BASE_URL=%s lua5.4 bin/proxyshard proxies 12345 --format txt "
        .. ">&3 2>%s/err; echo $?"):format(q(ROOT), q(os.getenv("PATH")), q(dir), q(sb.url), q(dir))
      local code = shell.run("bash -c " .. q(script)):gsub("%s+$", "")
      assert.are.equal("12", code)
      assert.are.equal("proxyshard: cannot write to standard output: Broken pipe\n", shell.read_file(dir .. "/err"))
    end)

    it("piped into head -1: the first line", function()
      local dir = shell.tmpdir("proxyshard-head")
      local cmd = ("cd %s && env -i PATH=%s PROXYSHARD_STATE_DIR=%s PROXYSHARD_TOKEN=sandbox-token "
        .. "PROXYSHARD_BASE_URL=%s lua5.4 bin/proxyshard proxies 12345 --format txt 2>%s/err | head -1")
        :format(q(ROOT), q(os.getenv("PATH")), q(dir), q(sb.url), q(dir))
      assert.are.equal("203.0.113.10:8001:sbx12345:sandbox-pass-12345-1\n", (shell.run(cmd)))
    end)
  end)

  describe("renew", function()
    local function run(argv, input)
      local state = shell.tmpdir("proxyshard-cli-renew")
      local sys = fake_system { env = setmetatable({ PROXYSHARD_STATE_DIR = state }, { __index = env }),
        now = require("proxyshard.wire.time").parse("2026-11-25T12:00:00Z"), input = input }
      local code = require("proxyshard.cli").main(argv, sys)
      return code, sys.stdout(), sys.stderr()
    end

    it("--expiring under a cap: an order whose price is above what is left is not renewed (exit 3)", function()
      -- 12346 is on hold ($8.60 estimated); 12345 and 12347 are active: named, not renewed
      local code, out, err = run { "renew", "--expiring", "30", "--max-total", "5.00", "--yes" }
      assert.are.equal(3, code, err)
      assert.matches("\n12346%s+%-41%s+%$8%.60%s+%-%s+proxyshard budget error: the renewal of order 12346 costs "
        .. "%$8%.60, above the %$5%.00 left of %-%-max%-total %$5%.00: nothing was bought", out)
      assert.matches("nothing renewed %(%$0%.00 of the cap %$5%.00 spent%)", out)
      assert.matches("order 12345 expires in 5 days: it is active", err)
      assert.are.equal(0, spent())
    end)

    it("--expiring renews what fits, once: a second run finds nothing on hold", function()
      local code, out, err = run { "--json", "renew", "--expiring", "30", "--max-total", "10.00", "--yes" }
      assert.are.equal(0, code, err)
      local doc = json_of(out).result
      assert.are.equal(1, doc.renewed)
      assert.are.equal(860, doc.spent_cents)
      assert.are.equal(860, spent())
      code, out = run { "--json", "renew", "--expiring", "30", "--max-total", "10.00", "--yes" }
      assert.are.equal(0, code)
      assert.are.equal(0, json_of(out).result.renewed)
      assert.are.equal(860, spent())
    end)

    it("several orders need --max-total and a confirmation; one order's own price is its cap", function()
      local code, _, err = run { "renew", "12345", "12346" }
      assert.are.equal(2, code)
      assert.matches("%-%-max%-total is needed to renew more than one order", err)
      code, _, err = run({ "renew", "12346", "12345", "--max-total", "30" }, {})
      assert.are.equal(2, code) -- not a terminal, no --yes
      assert.matches("%-%-yes", err)
      local out
      code, out, err = run { "renew", "12346", "--dry-run" }
      assert.are.equal(0, code, err)
      assert.matches("\n12346%s+%-%s+%$8%.60%s+%$8%.60%s+would renew\n", out)
      assert.matches("dry run, nothing renewed: %$8%.60 for the orders that fit %(cap %$8%.60%)", out)
      assert.are.equal(0, spent())
    end)
  end)

  describe("proxies", function()
    it("prints one line per proxy and nothing else with --format, in each format, IPv6 in brackets", function()
      local out, err, code = proxyshard("proxies 12345 12346 --format url --scheme socks5h", env)
      assert.are.equal(0, code, err)
      assert.are.equal("", err)
      local n = 0
      for line in out:gmatch("[^\n]+") do
        n = n + 1
        assert.matches("^socks5h://sbx1234[56]:sandbox%-pass%-1234[56]%-%d@[%[%]%x%.:]+:9%d%d%d$", line)
      end
      assert.are.equal(7, n) -- 5 of 12345, 2 of 12346
      assert.matches("@%[2001:db8::10%]:9001\n", out)
      out = proxyshard("proxies 12345 --format txt", env)
      assert.matches("^203%.0%.113%.10:8001:sbx12345:sandbox%-pass%-12345%-1\n", out)
      out = proxyshard("proxies 12345 --format '{ip} {socks_port}'", env)
      assert.matches("^203%.0%.113%.10 9001\n203%.0%.113%.11 9002\n", out)
      out = proxyshard("proxies 12345 --format csv", env)
      assert.matches("^ip,http_port,socks_port,username,password,status,signature,until,order_id\n", out)
      assert.are.equal(6, select(2, out:gsub("\n", "")))
      out = proxyshard("proxies 12345 --format json", env)
      for line in out:gmatch("[^\n]+") do assert.are.equal(12345, json_of(line).order_id) end
    end)

    it("prints a table with the passwords and the order of each IP, and no stray line", function()
      local out, err, code = proxyshard("proxies 12345", env)
      assert.are.equal(0, code, err)
      assert.matches("^ORDER ID%s+IP%s+HTTP PORT%s+SOCKS PORT%s+USERNAME%s+PASSWORD%s+STATUS", out)
      assert.matches("\n12345%s+203%.0%.113%.10%s+8001%s+9001%s+sbx12345%s+sandbox%-pass%-12345%-1%s", out)
      assert.is_nil(out:find("order tag", 1, true))
    end)

    it("with --all-active reads every active Datacenter/ISP order, and leaves residential ones out", function()
      local out, err, code = proxyshard("proxies --all-active --format '{order_id}'", env)
      assert.are.equal(0, code, err)
      local orders = {}
      for id in out:gmatch("%d+") do orders[id] = true end
      assert.is_true(orders["12345"])
      assert.is_nil(orders["12400"])
      assert.is_nil(orders["12401"])
    end)

    it("refuses a residential order as not a Datacenter/ISP order (exit 7), printing no list", function()
      local out, err, code = proxyshard("proxies 12345 12400 --format txt", env)
      assert.are.equal(7, code)
      assert.are.equal("", out)
      assert.matches("order 12400 is not a Datacenter/ISP order: it has no proxy list", err)
    end)

    it("refuses a bad format or scheme before any request (exit 2)", function()
      local before = #sb:requests()
      for _, args in ipairs { "--format tx", "--format '{ipp}'", "--format '{ip'", "--scheme sock5" } do
        local out, err, code = proxyshard("proxies 12345 " .. args, env)
        assert.are.equal(2, code, args)
        assert.are.equal("", out, args)
        assert.matches("invalid_argument", err, 1, true)
      end
      local out, _, code = proxyshard("--json proxies 12345 --format txt", env)
      assert.are.equal(2, code)
      assert.matches("two outputs", json_of(out).error.message)
      assert.are.equal(before, #sb:requests())
    end)
  end)

  describe("every spending command", function()
    local money = require "proxyshard.money"
    local function dollars(cents) return tostring(money.cents(cents)) end
    local function plain_dollars(cents) return (dollars(cents):gsub("^%$", "")) end
    local function posts()
      local n = 0
      for _, r in ipairs(sb:requests()) do
        if r.method == "POST" then n = n + 1 end
      end
      return n
    end

    it("renew: --dry-run shows the estimate and buys nothing; --yes charges it and prints what it paid", function()
      local out, err, code = proxyshard("renew 12346 --dry-run", env)
      assert.are.equal(0, code, err)
      local estimate = out:match("\n12346%s+%-%s+(%$[%d.]+)")
      assert.is_string(estimate, out)
      assert.matches("dry run, nothing renewed", out)
      assert.are.equal(0, spent())
      assert.are.equal(0, posts())
      out, err, code = proxyshard("renew 12346 --yes", env)
      assert.are.equal(0, code, err)
      assert.are.equal(estimate, dollars(spent()))
      assert.matches("renewed 1 orders for " .. estimate:gsub("[%$%.]", "%%%0") .. " in all", out)
    end)

    it("renew after change-cycle: the estimate follows the new cycle, and is what the renewal charges", function()
      local _, err, code = proxyshard("renew 12346 --dry-run", env)
      assert.are.equal(0, code, err)
      local _, err2, code2 = proxyshard("change-cycle 12346 quarterly", env)
      assert.are.equal(0, code2, err2)
      local out = proxyshard("--json renew 12346 --dry-run", env)
      local doc = json_of(out)
      assert.is_true(doc.dry_run)
      local quarterly = doc.result.orders[1].price_cents
      assert.is_true(quarterly > 860) -- a quarter costs more than the month it was
      out, err, code = proxyshard("--json renew 12346 --yes", env)
      assert.are.equal(0, code, err)
      doc = json_of(out)
      assert.are.equal(quarterly, spent())
      assert.are.equal(quarterly, doc.result.spent_cents)
      assert.are.equal(quarterly, doc.result.orders[1].cost_cents)
    end)

    it("renew above --max-total: exit 3, a budget error, nothing sent to renew", function()
      local out, err, code = proxyshard("--json renew 12346 --yes --max-total 0.01", env)
      assert.are.equal(3, code, err)
      local doc = json_of(out)
      assert.are.equal("budget", doc.error.kind)
      assert.are.equal(1, doc.error.max_total_cents)
      assert.matches("the renewal of order 12346 costs %$[%d.]+, above the %$0%.01 left of %-%-max%-total %$0%.01: "
        .. "nothing was bought", err)
      assert.are.equal(0, posts())
      assert.are.equal(0, spent())
    end)

    it("add-bandwidth: a dry run checks its arguments as the real run does (exit 2, nothing sent)", function()
      local _, err, code = proxyshard("add-bandwidth 12400 1e3 --dry-run", env)
      assert.are.equal(2, code)
      assert.matches("gb must be", err)
      local _, err2, code2 = proxyshard("add-bandwidth 12400 1e3 --yes", env)
      assert.are.equal(2, code2)
      assert.are.equal(err, err2)
      assert.are.equal(0, #sb:requests())
    end)

    it("add-bandwidth: the estimate in the dry run is what --yes then charges, under --max-total", function()
      local out, err, code = proxyshard("--json add-bandwidth 12400 5 --dry-run", env)
      assert.are.equal(0, code, err)
      local price = json_of(out).result.price_cents
      assert.is_true(price > 0)
      local _
      _, err, code = proxyshard("add-bandwidth 12400 5 --yes --max-total " .. plain_dollars(price - 1), env)
      assert.are.equal(3, code, err)
      assert.are.equal(0, spent())
      out, err, code = proxyshard("--json add-bandwidth 12400 5 --yes --max-total " .. plain_dollars(price),
        env)
      assert.are.equal(0, code, err)
      local doc = json_of(out)
      assert.are.equal(price, spent())
      assert.are.equal(price, doc.result.charged_cents)
      assert.are.equal(price, doc.result.estimated_cents)
    end)

    it("purchase --yes without --max-total buys at the quote and prints what it paid", function()
      local out, err, code = proxyshard("purchase 12345 p0f_slots 2 --yes", env)
      assert.are.equal(0, code, err)
      assert.matches("^bought p0f_slots %+2 on order 12345 for %$0%.60", out)
      assert.are.equal(60, spent())
    end)

    it("purchase-order: --dry-run shows the quote; above --max-total exit 3 and nothing bought", function()
      local out, err, code = proxyshard("--json purchase-order --product 'Datacenter Proxy' --location DE "
        .. "--cycle monthly --quantity 2 --dry-run", env)
      assert.are.equal(0, code, err)
      local price = json_of(out).result.price_cents
      assert.is_true(price > 0)
      local _
      _, err, code = proxyshard("purchase-order --product 'Datacenter Proxy' --location DE --cycle monthly "
        .. "--quantity 2 --yes --max-total " .. plain_dollars(price - 1), env)
      assert.are.equal(3, code, err)
      assert.are.equal(0, posts())
      out, err, code = proxyshard("purchase-order --product 'Datacenter Proxy' --location DE --cycle monthly "
        .. "--quantity 2 --yes", env)
      assert.are.equal(0, code, err)
      assert.matches("^bought order %d+ %(Datacenter Proxy%) for " .. dollars(price):gsub("[%$%.]", "%%%0"), out)
      assert.are.equal(price, spent())
    end)
  end)

  describe("a capped purchase", function()
    local PURCHASE = "--json purchase 12345 p0f_slots 2 --yes --max-total "

    it("buys under the cap: exit 0, the receipt in cents", function()
      local out, err, code = proxyshard(PURCHASE .. "1.00", env)
      assert.are.equal(0, code, err)
      local doc = json_of(out)
      assert.is_true(doc.ok)
      assert.are.equal(60, doc.result.quote.total_cents)
      assert.are.equal(150, doc.result.addons_price_paid_cents)
      assert.are.equal(60, spent())
    end)

    it("buys nothing above the cap: exit 3, a budget error", function()
      local out, err, code = proxyshard(PURCHASE .. "0.59", env)
      assert.are.equal(3, code, err)
      local doc = json_of(out)
      assert.is_false(doc.ok)
      assert.are.equal("budget", doc.error.kind)
      assert.are.equal(59, doc.error.max_total_cents)
      assert.are.equal(60, doc.error.quote.total_cents)
      assert.matches("^proxyshard budget error: .*nothing was bought", err)
      assert.are.equal(0, spent())
    end)

    it("exits 4 when the answer is lost, so that a script does not buy again blindly", function()
      sb:fault { path = "/user/api/orders/12345/addons/purchase", method = "POST", action = "drop", commit = true,
        times = 1 }
      local out, err, code = proxyshard(PURCHASE .. "1.00", env)
      assert.are.equal(4, code, err)
      assert.are.equal("unknown_outcome", json_of(out).error.kind)
      assert.are.equal(60, spent()) -- it was bought: rerunning would buy twice
    end)

    it("finds out with --reconcile instead", function()
      sb:fault { path = "/user/api/orders/12345/addons/purchase", method = "POST", action = "drop", commit = true,
        times = 1 }
      local out, err, code = proxyshard(PURCHASE .. "1.00 --reconcile", env)
      assert.are.equal(0, code, err)
      assert.matches("confirmed by re%-reading the order", json_of(out).result.message)
      assert.are.equal(60, spent())
    end)

    it("quotes and buys nothing with --dry-run", function()
      local out, err, code = proxyshard("--json purchase 12345 p0f_slots 2 --max-total 1.00 --dry-run", env)
      assert.are.equal(0, code, err)
      local doc = json_of(out)
      assert.is_true(doc.dry_run)
      assert.are.equal(60, doc.result.price_cents)
      assert.are.equal(60, doc.result.quote.total_cents)
      out = proxyshard("purchase 12345 p0f_slots 2 --dry-run", env)
      assert.are.equal("dry run, nothing bought: p0f_slots +2 on order 12345: 2 × $0.30 = $0.60 (3 → 5)\n", out)
      assert.are.equal(0, spent())
    end)

    it("a dry run above the cap exits 3", function()
      local _, _, code = proxyshard("purchase 12345 p0f_slots 2 --max-total 0.10 --dry-run", env)
      assert.are.equal(3, code)
    end)

    it("is not made off a terminal without --yes: exit 2, nothing bought", function()
      local _, err, code = proxyshard("purchase 12345 p0f_slots 2 --max-total 1.00", env)
      assert.are.equal(2, code)
      assert.matches("%-%-yes is needed", err)
      assert.are.equal(0, spent())
    end)
  end)

  describe("on a terminal", function()
    local function run(argv, input)
      local state = shell.tmpdir("proxyshard-cli-state")
      local sys = fake_system { env = setmetatable({ PROXYSHARD_STATE_DIR = state }, { __index = env }), tty = true,
        input = input }
      local code = cli.main(argv, sys)
      return code, sys.stdout(), sys.stderr()
    end

    it("shows the quote and buys when the answer is yes, at the price shown", function()
      local code, out, err = run({ "purchase", "12345", "p0f_slots", "2" }, { "y" })
      assert.are.equal(0, code, err)
      assert.matches("p0f_slots %+2 on order 12345: 2 × %$0%.30 = %$0%.60 %(3 → 5%)\nBuy%? %[y/N%] ", err)
      assert.matches("^bought p0f_slots %+2 on order 12345 for %$0%.60", out)
      assert.are.equal(60, spent())
      -- the price confirmed is the one the purchase was made at: quoted once
      local quotes = 0
      for _, r in ipairs(sb:requests()) do
        if r.path:find("/addons/calculate", 1, true) then quotes = quotes + 1 end
      end
      assert.are.equal(1, quotes)
    end)

    it("buys nothing when the answer is no: exit 10", function()
      local code, _, err = run({ "purchase", "12345", "p0f_slots", "2" }, { "n" })
      assert.are.equal(10, code)
      assert.matches("not confirmed: nothing was bought", err)
      code = run({ "top-up", "--free", "5", "--max-total", "5.00", "12345" }, {})
      assert.are.equal(10, code)
      assert.are.equal(0, spent())
    end)

    it("shows a progress bar for a top-up, on stderr", function()
      local code, out, err = run({ "top-up", "--free", "3", "--max-total", "5.00", "12345", "12347", "--yes" })
      assert.are.equal(0, code, err)
      assert.matches("\rreading %[", err)
      assert.matches("\rbuying %[", err)
      assert.matches("bought 4 p0f slots on 2 orders for %$1%.20 in all %(cap %$5%.00%)", out)
    end)
  end)

  it("asks on a real terminal (tmux) and buys on yes", function()
    assert(shell.sh("command -v tmux >/dev/null"), "tmux is needed: scripts/setup.sh --tests")
    local session = "proxyshard-cli-spec-" .. os.time()
    local done = os.tmpname()
    local cmd = ("cd %s && PROXYSHARD_TOKEN=sandbox-token PROXYSHARD_BASE_URL=%s lua5.4 bin/proxyshard purchase 12345 "
      .. "p0f_slots 2; echo \"exit=$?\" > %s; sleep 30"):format(q(ROOT), q(sb.url), q(done))
    assert(shell.sh(("tmux new-session -d -s %s -x 150 -y 20 %s"):format(session, q(cmd))))
    local screen = shell.wait_for(function()
      local s = shell.run("tmux capture-pane -p -t " .. session)
      return s:find("Buy? [y/N]", 1, true) and s
    end, 15)
    assert.is_truthy(screen, "no prompt")
    assert.matches("2 × %$0%.30 = %$0%.60", screen)
    shell.sh("tmux send-keys -t " .. session .. " y Enter")
    local finished = shell.wait_for(function() return (shell.read_file(done) or ""):match("exit=(%d+)") end, 15)
    screen = shell.run("tmux capture-pane -p -t " .. session)
    shell.sh("tmux kill-session -t " .. session .. " 2>/dev/null")
    os.remove(done)
    assert.are.equal("0", finished, screen)
    assert.matches("bought p0f_slots %+2 on order 12345", screen)
    assert.are.equal(60, spent())
  end)

  describe("top-up", function()
    it("buys what is missing per order and in total; run again, it buys nothing", function()
      local out, err, code = proxyshard("--json top-up --free 3 --max-total 5.00 12345 12347 --yes", env)
      assert.are.equal(0, code, err)
      local doc = json_of(out)
      assert.are.equal(4, doc.result.bought) -- 12345: 2 free, 1 more; 12347: 0 free, 3
      assert.are.equal(120, doc.result.spent_cents)
      assert.are.equal(500, doc.result.max_total_cents)
      assert.are.same({ 1, 3 }, { doc.result.orders[1].bought, doc.result.orders[2].bought })
      assert.are.same({ 30, 90 }, { doc.result.orders[1].cost_cents, doc.result.orders[2].cost_cents })
      assert.are.equal(120, spent())

      out, err, code = proxyshard("top-up --free 3 --max-total 5.00 12345 12347 --yes", env)
      assert.are.equal(0, code, err)
      assert.matches("12345%s+3%s+0%s+0%s+%-%s+3%s+enough", out)
      assert.matches("nothing bought", out)
      assert.are.equal(120, spent())
    end)

    it("tops up an order given twice (or as 012345) once: one charge", function()
      -- 12345 has 2 free; 6 wanted: 4 missing, $1.20
      local out, err, code = proxyshard("--json top-up --free 6 --max-total 5.00 --yes 12345 12345 012345", env)
      assert.are.equal(0, code, err)
      local doc = json_of(out)
      assert.are.equal(1, #doc.result.orders)
      assert.are.equal(4, doc.result.bought)
      assert.are.equal(120, spent())
      assert.are.equal(1, #sb:ledger())
      assert.matches("order 12345 is given more than once: it is topped up once", err)
    end)

    it("checks --concurrency as client:map does, before any request", function()
      local _, err, code = proxyshard("top-up --free 6 --max-total 5.00 --yes --concurrency 101 12345", env)
      assert.are.equal(2, code)
      assert.matches("concurrency must be an integer from 1 to 100", err)
      assert.are.equal(0, #sb:requests())
    end)

    it("never spends more than the cap over all orders: the rest is a budget error (exit 3)", function()
      -- 12345 needs 3 more ($0.90), 12347 5 ($1.50): the cap holds one of them
      local out, err, code = proxyshard("--json top-up --free 5 --max-total 1.00 12345 12347 --yes", env)
      assert.are.equal(3, code, err)
      local doc = json_of(out)
      assert.are.equal(3, doc.result.orders[1].bought)
      assert.are.equal(0, doc.result.orders[2].bought)
      assert.are.equal("budget", doc.result.orders[2].error.kind)
      assert.are.equal(90, spent())
    end)

    it("with --all-active, skips the orders the add-on is not sold for", function()
      local out, err, code = proxyshard("top-up --free 1 --max-total 5.00 --all-active --yes", env)
      assert.are.equal(0, code, err)
      assert.matches("12347%s+0%s+1%s+1%s+%$0%.30%s+1%s+bought", out)
      assert.matches("12400 .* skipped: ", out)
      assert.are.equal(30, spent())
    end)

    it("with --dry-run, shows the plan and buys nothing", function()
      local out, err, code = proxyshard("top-up --free 3 --max-total 5.00 12345 12347 --dry-run", env)
      assert.are.equal(0, code, err)
      assert.matches("would buy", out)
      assert.matches("dry run, nothing bought: 4 p0f slots would cost %$1%.20 %(cap %$5%.00%)", out)
      assert.are.equal(0, spent())
    end)

    it("prints no progress bar when stderr is not a terminal", function()
      local _, err = proxyshard("top-up --free 3 --max-total 5.00 12345 12347 --yes", env)
      assert.are.equal("", err)
    end)
  end)
end)

describe("the token", function()
  local SECRET = "tok-s3cr3t-0123456789abcdef"
  local sb

  setup(function()
    sb = sandbox_process.start("--token " .. SECRET)
  end)

  teardown(function()
    if sb then sb:stop() end
  end)

  local function never_printed(out, err)
    assert.is_nil(out:find(SECRET, 1, true), out)
    assert.is_nil(err:find(SECRET, 1, true), err)
  end

  it("is read from --token-file, and never printed", function()
    local file = os.tmpname()
    shell.write_file(file, SECRET .. "\n")
    for _, args in ipairs { "me", "--json order 99999", "quote 12345 p0f_slots 0", "--json bogus", "repl" } do
      local out, err = proxyshard("--token-file " .. q(file) .. " --base-url " .. sb.url .. " " .. args, {},
        "print(client)\n")
      never_printed(out, err)
    end
    local out, err, code = proxyshard("--token-file " .. q(file) .. " --base-url " .. sb.url .. " me", {})
    os.remove(file)
    assert.are.equal(0, code, err)
    assert.matches("wallet", out)
  end)

  it("given with --token works, with a warning, and is never printed either", function()
    local out, err, code = proxyshard("--token " .. SECRET .. " --base-url " .. sb.url .. " me", {})
    assert.are.equal(0, code, err)
    assert.matches("warning: %-%-token puts the token on the command line", err)
    never_printed(out, err)
    for _, args in ipairs { "--json order 99999", "order abc",
        "--json purchase 12345 p0f_slots 2 --max-total 0.01 --yes",
        "--token=" .. SECRET .. " bogus" } do
      out, err = proxyshard("--token " .. SECRET .. " --base-url " .. sb.url .. " " .. args, {})
      never_printed(out, err)
    end
  end)

  it("is read from standard input with --token-file -", function()
    local out, err, code = proxyshard("--token-file - --base-url " .. sb.url .. " me", {}, SECRET .. "\n")
    assert.are.equal(0, code, err)
    never_printed(out, err)
  end)

  it("is not printed when a successful answer echoes it, in any spelling: text, --json and the REPL", function()
    local wire = (SECRET:gsub("^t", "\\u0074")) -- JSON-escaped on the wire: the value is the token
    local literal = (SECRET:gsub("%-", "\\\\u002d")) -- the value itself holds "\u002d"
    sb:fault { path = "/user/api/me", status = 200, times = 30,
      body = '{"email":"' .. wire .. " " .. literal .. '","active_orders":1,"wallet_balance":100}' }
    local env = { PROXYSHARD_TOKEN = SECRET, PROXYSHARD_BASE_URL = sb.url }
    for _, args in ipairs { "me", "--json me", "repl" } do
      local out, err, code = proxyshard(args, env, "client:me()\nclient:me().email\nprint(tostring(client:me()))\n")
      assert.are.equal(0, code, err)
      never_printed(out, err)
      -- no spelling at all: the part after the first escape is nowhere
      assert.is_nil(out:find("0123456789abcdef", 1, true), args .. ": " .. out)
      assert.matches("%[redacted%] %[redacted%]", out, 1, args)
    end
    sb:control("DELETE", "/_sandbox/faults")
  end)

  it("from PROXYSHARD_TOKEN is not printed when the server echoes it", function()
    sb:fault { path = "/user/api/me", status = 500, body = '{"success":false,"message":"bad token ' .. SECRET .. '"}',
      times = 10 }
    local out, err, code = proxyshard("--json --timeout 5 me",
      { PROXYSHARD_TOKEN = SECRET, PROXYSHARD_BASE_URL = sb.url })
    sb:control("DELETE", "/_sandbox/faults")
    assert.are.equal(8, code, err)
    never_printed(out, err)
  end)
end)

describe("the rock", function()
  it("installs the proxyshard command, which runs from anywhere", function()
    local tree = shell.tmpdir()
    local out, ok = shell.run(("LUAROCKS_CONFIG=rockspec/debian-config.lua luarocks --lua-version=5.4 --tree %s "
      .. "make rockspec/proxyshard-scm-1.rockspec 2>&1"):format(q(tree)))
    shell.sh("rm -rf build.luarocks")
    if ok then out, ok = shell.run(("cd / && %s/bin/proxyshard --help 2>&1"):format(q(tree))) end
    shell.sh("rm -rf " .. q(tree))
    assert.is_true(ok, out)
    assert.matches("Usage: proxyshard ", out)
    assert.matches("\n   top%-up ", out)
  end)
end)
