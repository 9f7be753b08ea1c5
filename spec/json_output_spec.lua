-- `proxyshard --json`: one documented shape per command. Every command
-- (require("proxyshard.cli.commands").all()) has a definition in
-- docs/json-output.schema.json; each is run here as a process against one
-- sandbox, with arguments from its fixture (--all variants, dry runs,
-- failures of each kind it can provoke), and what it prints is validated
-- against the schema by a validator of our own (spec/support/json_schema.lua),
-- which tells [] from {} and 5 from 5.0 (lua-cjson 2.1.0 cannot). The
-- schema's objects are closed (additionalProperties false), so a field the
-- schema does not know fails its case. docs/json-output.md is checked to
-- hold the schema's Markdown and every exit status.
--
-- A case whose output breaks the contract today is `pending` with the fix
-- it waits for (remove its `pending` field once the fix is in;
-- PROXYSHARD_SPEC_RUN_PENDING=1 runs them all, to see which pass).
local shell = require "support.shell"
local sandbox_process = require "support.sandbox_process"
local json_schema = require "support.json_schema"
local commands = require "proxyshard.cli.commands"
local exit = require "proxyshard.cli.exit"
local errors = require "proxyshard.errors"
local render = require "proxyshard.cli.render"

local q = shell.q
local ROOT = shell.run("pwd"):gsub("%s+$", "")
local SCHEMA_PATH = "docs/json-output.schema.json"
local DOC_PATH = "docs/json-output.md"

--- The commands with no JSON document, and why.
local EXEMPT = {
  repl = "interactive: Lua's own loop on the terminal, no document to print",
  help = "prints a help text, as --help does (with --json too)",
  completion = "prints a shell's completion script",
  man = "prints the manual page, roff",
}

local schema = json_schema.load(SCHEMA_PATH)
local defs = schema["$defs"]

-- Run bin/proxyshard --json `args` (one shell string) with only `env`:
-- stdout, stderr, exit status.
local function proxyshard(args, env)
  local dir = shell.tmpdir("proxyshard-json")
  local words = {}
  for k, v in pairs(env) do words[#words + 1] = k .. "=" .. q(v) end
  table.sort(words)
  local cmd = ("cd %s && env -i PATH=%s %s lua5.4 bin/proxyshard --json %s 2>%s/stderr </dev/null"):format(q(ROOT),
    q(os.getenv("PATH")), table.concat(words, " "), args, dir)
  local out, _, code = shell.run(cmd)
  local err = shell.read_file(dir .. "/stderr")
  shell.sh("rm -rf " .. q(dir))
  return out, err, code
end

-- Problems as one message.
local function lines(list)
  return "\n  " .. table.concat(list, "\n  ")
end

-- The cases. Each: args (after --json; the first word is the command,
-- unless `command` says otherwise, false: none; `{state}` is the run's
-- state directory), exit (default 0), ok (true: a success whose exit
-- status is not 0, as plan's 2 for changes), kind (a failure's
-- error.kind), files (name → text: written into the state directory
-- first), before(sb, run, state) (faults, earlier runs in the same state
-- directory: run(args) → out, err, code), token, pending (why it breaks
-- the contract, and the fix).
local DC_ORDER = "--product 'Datacenter Proxy' --location DE --cycle monthly --quantity 2"
local PURCHASE_PATH = "/user/api/orders/12345/addons/purchase"

local function drop_purchase(commit)
  return function(sb, run)
    sb:fault { path = PURCHASE_PATH, method = "POST", action = "drop", commit = commit }
    local _, err, code = run("purchase 12345 p0f_slots 1 --max-total 1.00 --yes")
    assert.are.equal(4, code, err)
  end
end

-- GET /user/api/orders answers no orders (every page, every status).
local function no_orders(sb)
  sb:fault { path = "/user/api/orders", method = "GET", status = 200, times = 0,
    body = '{"success":true,"orders":[],"count":0}' }
end

-- A desired state (docs/desired-state.md), as {state}/desired.lua: against
-- the sandbox as it starts, one spend (2 p0f slots of order 12345, $0.60)
-- and free changes (a signature, a tag, auto-renewal, a new sub-user).
local DESIRED = { ["desired.lua"] = [[
return {
  orders = { { order = 12345, min_free_p0f = 3, signatures = { ["203.0.113.11"] = "win11" } },
             { order = 12347, tag = "new", auto_renewal = true } },
  residential = { premium = { sub_users = { { name = "team-z", min_remaining_gb = 1 } } } },
}
]] }

-- Run `args` before the case; it must exit `code` (default 0).
local function first(args, code)
  return function(_, run)
    local _, err, got = run(args)
    assert.are.equal(code or 0, got, err)
  end
end

-- The desired state applied, then changed outside: drift for the next plan.
local function applied_then_changed(sb, run)
  first("apply {state}/desired.lua --max-total 5 --yes")(sb, run)
  first("set-tag 12347 other")(sb, run)
  first("set-auto-renewal 12347 false")(sb, run)
end

local CASES = {
  -- the account and the catalogue
  { args = "me" },
  { args = "products" },
  { args = "products", name = "products with a product that has no cycles",
    before = function(sb)
      sb:fault { path = "/user/api/proxies/products", status = 200,
        body = '{"success":true,"products":[{"name":"X","cycles":[]}]}' }
    end },
  { args = "available" },
  { args = "quote-order " .. DC_ORDER .. " --addons p0f_slots=1" },
  { args = "purchase-order " .. DC_ORDER .. " --max-total 10 --yes" },
  { args = "purchase-order " .. DC_ORDER .. " --max-total 10 --dry-run" },
  { args = "purchase-order " .. DC_ORDER .. " --max-total 1 --yes", exit = 3, kind = "budget" },
  { args = "purchase-order --product 'Datacenter Proxy' --location XX --max-total 10 --yes", exit = 7,
    kind = "validation" },
  { args = "health" },
  { args = "live" },
  -- an order
  { args = "order 12345" },
  { args = "order 12400", name = "order 12400 (residential: no expiry, no tag)" },
  { args = "order 99999", exit = 6, kind = "not_found" },
  { args = "order abc", exit = 2, kind = "invalid_argument" },
  { args = "order 12345", name = "order whose answer has no add-on lines",
    before = function(sb)
      sb:fault { path = "/user/api/orders/12345", method = "GET", status = 200,
        body = '{"success":true,"order":{"order_id":12345,"status":"active"}}' }
    end },
  { args = "sign 12345 203.0.113.11=win11" },
  { args = "set-deletion 12347 198.51.100.20=true --yes" },
  { args = "set-deletion 12347 198.51.100.20=true", name = "set-deletion without --yes off a terminal", exit = 2,
    kind = "invalid_argument" },
  { args = "set-tag 12345 scrapers" },
  { args = "change-cycle 12345 quarterly" },
  { args = "set-auto-renewal 12345 false" },
  { args = "add-bandwidth 12400 1 --max-total 10 --yes" },
  { args = "add-bandwidth 12400 1 --max-total 10 --dry-run" },
  { args = "add-bandwidth 12345 1 --max-total 10 --yes", exit = 7, kind = "validation" },
  -- an add-on
  { args = "quote 12345 p0f_slots 2" },
  { args = "quote 12345 p0f_slots 0", exit = 2, kind = "invalid_argument" },
  { args = "purchase 12345 p0f_slots 1 --max-total 1.00 --yes" },
  { args = "purchase 12345 p0f_slots 1 --max-total 1.00 --dry-run" },
  { args = "purchase 12345 p0f_slots 5 --max-total 0.10 --yes", exit = 3, kind = "budget" },
  { args = "purchase 12345 p0f_slots 5 --max-total 0.10 --dry-run", exit = 3, kind = "budget" },
  { args = "purchase 12345 p0f_slots 1 --max-total 1.00 --yes", name = "purchase whose answer is lost", exit = 4,
    kind = "unknown_outcome",
    before = function(sb) sb:fault { path = PURCHASE_PATH, method = "POST", action = "drop", commit = true } end },
  { args = "purchase 12345 p0f_slots 1 --max-total 1.00 --yes --reconcile",
    name = "purchase whose answer is lost, --reconcile",
    before = function(sb) sb:fault { path = PURCHASE_PATH, method = "POST", action = "drop", commit = true } end },
  { args = "purchase 12345 p0f_slots 1 --max-total 1.00 --yes", name = "purchase while another run spends",
    exit = 11, kind = "locked",
    before = function(sb, _, state)
      sb:fault { path = PURCHASE_PATH, method = "POST", delay_ms = 3000 }
      local env = ("env -i PATH=%s PROXYSHARD_TOKEN=sandbox-token PROXYSHARD_BASE_URL=%s PROXYSHARD_STATE_DIR=%s")
        :format(q(os.getenv("PATH")), q(sb.url), q(state))
      shell.sh(("cd %s && (%s lua5.4 bin/proxyshard purchase 12345 p0f_slots 1 --max-total 1.00 --yes "
        .. ">/dev/null 2>&1; touch %s/first-done) &"):format(q(ROOT), env, q(state)))
      assert.is_truthy(shell.wait_for(function()
        return shell.run("ls " .. q(state) .. "/*.lock 2>/dev/null") ~= ""
      end, 10), "the first run took no lock")
    end,
    after = function(_, state)
      shell.wait_for(function() return shell.read_file(state .. "/first-done") ~= nil end, 15)
    end },
  { args = "schedule-downgrade 12345 p0f_slots 1" },
  { args = "cancel-downgrade 12345 p0f_slots",
    before = function(_, run) assert.are.equal(0, select(3, run("schedule-downgrade 12345 p0f_slots 1"))) end },
  -- residential
  { args = "profile premium" },
  { args = "sub-users premium" },
  { args = "sub-users premium --limit 1", name = "sub-users, one page of several" },
  { args = "sub-users standart --offset 5", name = "sub-users, a page past the end" },
  { args = "sub-users premium --all" },
  { args = "sub-users premium --all --limit 1", exit = 2, kind = "invalid_argument" },
  { args = "create-sub-user premium --name team-c --data 1" },
  { args = "countries premium" },
  { args = "regions premium DE" },
  { args = "cities premium DE BE" },
  { args = "isps premium DE BE berlin" },
  { args = "isps premium US CA los-angeles", name = "isps of a city with none" },
  { args = "sub-user premium u-1" },
  { args = "sub-user premium u-99", exit = 6, kind = "not_found" },
  { args = "rename-sub-user premium u-1 team-z" },
  { args = "delete-sub-user premium u-2 --yes" },
  { args = "delete-sub-user premium u-2", name = "delete-sub-user without --yes off a terminal", exit = 2,
    kind = "invalid_argument" },
  { args = "add-data premium u-1 1" },
  { args = "subtract-data premium u-1 1" },
  { args = "reset-password premium u-1" },
  -- top-up
  { args = "top-up --free 5 --max-total 5 12345 --yes" },
  { args = "top-up --free 6 --max-total 5 12345 12347 --dry-run" },
  { args = "top-up --free 1 --max-total 5 --all-active --yes" },
  { args = "top-up --free 9 --max-total 0.10 12345 --yes", exit = 3, kind = "budget" },
  { args = "top-up --free 9 --max-total 0.10 12345 --dry-run", exit = 3, kind = "budget" },
  { args = "top-up --free 1 --max-total 5 --all-active --yes", name = "top-up --all-active with no active orders",
    before = no_orders },
  -- the versions (no call: libcurl's own)
  { args = "version" },
  -- pending
  { args = "pending" },
  { args = "pending --settle" },
  { args = "pending", name = "pending with a spend whose outcome is unknown", before = drop_purchase(true) },
  { args = "pending --settle", name = "pending --settle of a spend that was done", before = drop_purchase(true) },
  { args = "pending --settle", name = "pending --settle of a spend still unknown", exit = 4,
    kind = "unknown_outcome", before = drop_purchase(false) },
  -- proxies
  { args = "proxies 12345" },
  { args = "proxies 12345 12347" },
  { args = "proxies --all-active" },
  { args = "proxies 12348", name = "proxies of an order with none" },
  { args = "proxies 12400", exit = 7, kind = "validation" },
  { args = "proxies 12345 --format txt", exit = 2, kind = "invalid_argument" },
  -- orders
  { args = "orders" },
  { args = "orders --all" },
  { args = "orders --status all --limit 2", name = "orders, one page of several" },
  { args = "orders --status on-hold --offset 5", name = "orders, a page past the end" },
  { args = "orders --expiring 30" },
  { args = "orders --all", name = "orders --all with no orders", before = no_orders },
  { args = "orders --status nonsense", exit = 2, kind = "invalid_argument" },
  -- renew
  { args = "renew --expiring 400 --max-total 50 --yes" },
  { args = "renew --expiring 400 --max-total 50 --dry-run" },
  { args = "renew 12346 12345 --max-total 50 --yes", name = "renew of two orders, one active", exit = 7,
    kind = "validation" },
  { args = "renew 12346 12345 --max-total 0.01 --yes", exit = 3, kind = "budget" },
  { args = "renew 12346 12345", name = "renew of two orders without --max-total", exit = 2,
    kind = "invalid_argument" },
  { args = "renew 12346 --max-total 20 --yes", name = "renew of one order" },
  { args = "renew 12346 --max-total 20 --dry-run", name = "renew of one order, --dry-run" },
  { args = "renew --expiring 30 --max-total 50 --dry-run", name = "renew --expiring with nothing to renew",
    before = no_orders },
  -- plan and apply (a desired state)
  { args = "plan {state}/desired.lua", files = DESIRED, exit = 2, ok = true },
  { args = "plan {state}/desired.lua", name = "plan with nothing to do", files = DESIRED,
    before = first("apply {state}/desired.lua --max-total 5 --yes") },
  { args = "plan {state}/desired.lua", name = "plan with drift since the last apply", files = DESIRED, exit = 2,
    ok = true, before = applied_then_changed },
  { args = "plan {state}/desired.lua --out {state}/plan.json", files = DESIRED, exit = 2, ok = true },
  { args = "plan {state}/missing.lua", name = "plan of a file that does not exist", exit = 1,
    kind = "invalid_argument" },
  { args = "plan", name = "plan without its FILE", exit = 1, kind = "invalid_argument" },
  { args = "apply {state}/desired.lua --max-total 5 --yes", files = DESIRED },
  { args = "apply {state}/desired.lua --max-total 5 --dry-run", files = DESIRED },
  { args = "apply {state}/desired.lua --max-total 5 --yes", name = "apply with nothing to do", files = DESIRED,
    before = first("apply {state}/desired.lua --max-total 5 --yes") },
  { args = "apply {state}/plan.json --max-total 5 --yes", name = "apply of a saved plan", files = DESIRED,
    before = first("plan {state}/desired.lua --out {state}/plan.json", 2) },
  { args = "apply {state}/desired.lua --yes", name = "apply of a plan that spends, without --max-total",
    files = DESIRED, exit = 2, kind = "invalid_argument" },
  { args = "apply {state}/desired.lua --max-total 0.10 --yes", name = "apply over --max-total: the free actions done",
    files = DESIRED, exit = 3, kind = "budget" },
  { args = "apply {state}/plan.json --max-total 5 --yes", name = "apply of a saved plan the account outgrew",
    files = DESIRED, exit = 13, kind = "stale",
    before = function(sb, run)
      first("plan {state}/desired.lua --out {state}/plan.json", 2)(sb, run)
      first("set-tag 12347 other")(sb, run)
    end },
  -- failures of the run itself
  { args = "me", name = "me with a token the API refuses", token = "not-the-sandbox-token", exit = 5, kind = "auth" },
  { args = "me", name = "me when the API fails", exit = 8, kind = "server",
    before = function(sb) sb:fault { path = "/user/api/me", status = 500, times = 0 } end },
  { args = "me", name = "me when the answer is not JSON", exit = 9, kind = "decode",
    before = function(sb) sb:fault { path = "/user/api/me", status = 200, body = "not json" } end },
  { args = "set-tag 12345", name = "a command line that cannot be parsed", exit = 2, kind = "invalid_argument" },
  { args = "no-such-command", command = false, exit = 2, kind = "invalid_argument" },
}

-- The name of a case.
local function case_name(c)
  local n = c.name or c.args
  if c.exit and c.exit ~= 0 then n = n .. (" (exit %d)"):format(c.exit) end
  return n
end

-- The command a case runs (nil: none).
local function case_command(c)
  if c.command == false then return nil end
  return c.command or c.args:match("^(%S+)")
end

describe("proxyshard --json", function()
  describe("the schema", function()
    it("is JSON Schema of the subset spec/support/json_schema.lua checks, every $ref found", function()
      local problems = json_schema.check_schema(schema)
      assert.are.same({}, problems, lines(problems))
    end)

    it("has one definition per command, and none for a command that does not exist", function()
      local documented, missing, stale = {}, {}, {}
      for _, name in ipairs(json_schema.commands(schema)) do documented[name] = true end
      for name in pairs(defs) do
        if json_schema.is_command(name) and not documented[name] then
          stale[#stale + 1] = name .. " (defined, not in the top-level oneOf)"
        end
      end
      local known = {}
      for _, command in ipairs(commands.all()) do
        known[command.name] = true
        if not EXEMPT[command.name] and not (documented[command.name] and defs[command.name]) then
          missing[#missing + 1] = command.name
        end
        if EXEMPT[command.name] then
          assert.is_nil(defs[command.name], command.name .. " is exempt: " .. EXEMPT[command.name])
        end
      end
      for name in pairs(documented) do
        if not known[name] then stale[#stale + 1] = name .. " (no such command)" end
      end
      table.sort(missing)
      table.sort(stale)
      assert.are.same({}, missing, "commands without a definition in " .. SCHEMA_PATH .. ":" .. lines(missing))
      assert.are.same({}, stale, "definitions of no command:" .. lines(stale))
    end)

    it("closes every object it lists the fields of (additionalProperties false)", function()
      local open = {}
      local function walk(s, path)
        if json_schema.type_of(s) ~= "object" then return end
        if s.properties ~= nil and s.additionalProperties ~= false then open[#open + 1] = path end
        for key, v in pairs(s) do
          if key == "properties" or key == "$defs" then
            for name, sub in pairs(v) do walk(sub, path .. "/" .. key .. "/" .. name) end
          elseif json_schema.type_of(v) == "array" then
            for i, sub in ipairs(v) do walk(sub, ("%s/%s/%d"):format(path, key, i - 1)) end
          elseif json_schema.type_of(v) == "object" then
            walk(v, path .. "/" .. key)
          end
        end
      end
      walk(schema, "#")
      table.sort(open)
      assert.are.same({}, open, lines(open))
    end)

    it("has money as integers named *_cents, and no number that is not an integer", function()
      local bad = {}
      local function walk(s, path)
        if json_schema.type_of(s) ~= "object" then return end
        if s.type == "number" then bad[#bad + 1] = path .. ": a number that is not an integer" end
        for name, p in pairs(s.properties or {}) do
          if name:find("_cents$") and p.type ~= "integer" then
            bad[#bad + 1] = path .. "." .. name .. ": not an integer"
          end
        end
        for key, v in pairs(s) do
          if key == "properties" or key == "$defs" then
            for name, sub in pairs(v) do walk(sub, path .. "/" .. name) end
          elseif json_schema.type_of(v) == "array" then
            for i, sub in ipairs(v) do walk(sub, ("%s/%s/%d"):format(path, key, i - 1)) end
          elseif json_schema.type_of(v) == "object" then
            walk(v, path .. "/" .. key)
          end
        end
      end
      walk(schema, "#")
      table.sort(bad)
      assert.are.same({}, bad, lines(bad))
    end)

    it("knows every error kind and exit status, and no other", function()
      local kinds = { "internal" } -- an error raised inside a command: a bug (proxyshard.cli.order_set)
      for k in pairs(errors.KINDS) do kinds[#kinds + 1] = k end
      table.sort(kinds)
      local listed = {}
      for _, k in ipairs(defs.Error.properties.kind.enum) do listed[#listed + 1] = k end
      table.sort(listed)
      assert.are.same(kinds, listed)
      local codes, statuses = {}, {}
      for _, c in ipairs(exit.CODES) do
        if c[1] ~= exit.OK then codes[#codes + 1] = c[1] end
      end
      for _, c in ipairs(defs.Failure.properties.exit.enum) do statuses[#statuses + 1] = c end
      table.sort(codes)
      table.sort(statuses)
      assert.are.same(codes, statuses)
    end)

    it("has the error fields proxyshard.cli.render prints, money ones as *_cents", function()
      -- an error that has every field: render.error keeps those it prints
      local everything = setmetatable({}, { __index = function() return "x" end })
      local printed = {}
      for k in pairs(render.error(everything)) do printed[#printed + 1] = k end
      local fields = {}
      for k in pairs(defs.Error.properties) do fields[#fields + 1] = (k:gsub("_cents$", "")) end
      table.sort(printed)
      table.sort(fields)
      assert.are.same(printed, fields)
    end)
  end)

  describe(DOC_PATH, function()
    local text = shell.read_file(DOC_PATH)

    it("holds the schema's Markdown, as spec/support/json_schema.lua prints it", function()
      assert.is_string(text, DOC_PATH .. " is missing")
      local part = json_schema.generated_part(text)
      assert.is_string(part, "no generated part: its markers are " .. json_schema.BEGIN .. " ... " .. json_schema.END)
      -- regenerate with: lua5.4 spec/support/json_schema.lua docs/json-output.schema.json
      assert.are.equal(json_schema.markdown(schema), part)
    end)

    it("names every command with a definition, and every field of its shapes", function()
      local part = json_schema.generated_part(text) or ""
      for _, name in ipairs(json_schema.commands(schema)) do
        assert.is_truthy(part:find("\n### `" .. name .. "`\n", 1, true), name)
      end
      for name, d in pairs(defs) do
        if not json_schema.is_command(name) then
          assert.is_truthy(part:find("\n### " .. name .. "\n", 1, true), name)
          for field in pairs(d.properties or {}) do
            assert.is_truthy(part:find("| `" .. field .. "` |", 1, true), name .. "." .. field)
          end
        end
      end
    end)

    it("lists every exit status, and no other", function()
      local rows = {}
      for code, name in text:gmatch("\n| (%d+) | `([%w_]+)` |") do rows[#rows + 1] = code .. " " .. name end
      local expected = {}
      for _, c in ipairs(exit.CODES) do expected[#expected + 1] = c[1] .. " " .. c[2] end
      assert.are.same(expected, rows)
      for _, c in ipairs(exit.CODES) do
        for _, kind in ipairs(c[4] or {}) do
          assert.is_truthy(text:find("\n| " .. c[1] .. " | `" .. c[2] .. "` |[^\n]*`" .. kind .. "`"), kind)
        end
      end
    end)
  end)

  describe("the validator", function()
    local function check(name, text)
      local doc = assert(json_schema.decode(text))
      return json_schema.validate(schema, doc, defs[name])
    end

    it("takes a document of the schema", function()
      assert.is_true(check("me", '{"command":"me","ok":true,"result":{"email":"a@b.c","wallet_balance_cents":5}}'))
    end)

    it("refuses a field the schema does not know", function()
      local ok, errs = check("me", '{"command":"me","ok":true,"result":{"email":"a@b.c","wallet_balance":5}}')
      assert.is_nil(ok)
      assert.matches("result.wallet_balance: a field the schema does not know", errs[1], 1, true)
    end)

    it("refuses {} for a list, and cents with a fraction", function()
      assert.is_nil(check("proxies", '{"command":"proxies","ok":true,"result":{}}'))
      assert.is_true(check("proxies", '{"command":"proxies","ok":true,"result":[]}'))
      assert.is_nil(check("me", '{"command":"me","ok":true,"result":{"wallet_balance_cents":5.0}}'))
    end)

    it("refuses a document of another command, and a failure as a success", function()
      assert.is_nil(check("me", '{"command":"live","ok":true,"result":true}'))
      assert.is_nil(check("me", '{"command":"me","ok":false,"exit":6,"error":{"kind":"not_found","message":"x"}}'))
      assert.is_nil(check("Failure", '{"command":"me","ok":false,"exit":6,"error":{"kind":"nope","message":"x"}}'))
    end)

    it("reads one JSON document, and nothing after it", function()
      assert.is_nil(json_schema.decode('{"ok":true}\n{"ok":true}\n'))
      assert.is_nil(json_schema.decode('{"a":1,"a":2}'))
      assert.are.equal("integer", json_schema.type_of(json_schema.decode("45097156608")))
      assert.are.equal("number", json_schema.type_of(json_schema.decode("1e3")))
    end)
  end)

  describe("the cases", function()
    it("run every command, every --all, and fail with not_found, invalid_argument and budget", function()
      local ran, all, kinds = {}, {}, {}
      for _, c in ipairs(CASES) do
        local name = case_command(c)
        if name and not c.pending and ((c.exit or 0) == 0 or c.ok) then ran[name] = true end
        if name and (" " .. c.args .. " "):find(" --all ", 1, true) then all[name] = true end
        if c.kind and not c.pending then kinds[c.kind] = true end
      end
      local missing = {}
      for _, command in ipairs(commands.all()) do
        if not EXEMPT[command.name] and not ran[command.name] then
          missing[#missing + 1] = command.name .. " (no case that succeeds)"
        end
        local takes_all = command.all or (command.row and command.row.all)
        if takes_all and not all[command.name] then missing[#missing + 1] = command.name .. " (no --all case)" end
      end
      for _, kind in ipairs { "not_found", "invalid_argument", "budget" } do
        if not kinds[kind] then missing[#missing + 1] = "a failure of kind " .. kind end
      end
      assert.are.same({}, missing, lines(missing))
    end)
  end)

  describe("against the sandbox", function()
    local sb

    setup(function()
      sb = sandbox_process.start()
    end)

    teardown(function()
      if sb then sb:stop() end
    end)

    before_each(function()
      sb:reset()
    end)

    -- PROXYSHARD_SPEC_RUN_PENDING=1 runs the pending cases too (to see which fixes are in)
    local run_pending = (os.getenv("PROXYSHARD_SPEC_RUN_PENDING") or "") ~= ""
    for _, c in ipairs(CASES) do
      local name = case_name(c)
      if c.pending and not run_pending then
        pending(name .. ": " .. c.pending)
      else
        it(name, function()
          local state = shell.tmpdir("proxyshard-json-state")
          local env = { PROXYSHARD_TOKEN = c.token or "sandbox-token", PROXYSHARD_BASE_URL = sb.url,
            PROXYSHARD_STATE_DIR = state }
          local function run(args)
            return proxyshard(args:gsub("{state}", function() return q(state) end), env)
          end
          for file, text in pairs(c.files or {}) do shell.write_file(state .. "/" .. file, text) end
          if c.before then c.before(sb, run, state) end
          local out, err, code = run(c.args)
          if c.after then c.after(sb, state) end
          shell.sh("rm -rf " .. q(state))
          local wanted = c.exit or 0
          assert.are.equal(wanted, code, "exit status; stderr: " .. err .. "\nstdout: " .. out)
          assert.are.equal("\n", out:sub(-1), "the document ends with a newline: " .. out)
          local doc, why = json_schema.decode(out)
          assert.is_truthy(doc, "not one JSON document (" .. tostring(why) .. "): " .. out)
          local command = case_command(c)
          assert.are.equal(command, doc.command)
          -- ok is true exactly when the run succeeded (exit 0, or the case's own
          -- status of a success), and a failure says its status
          assert.are.equal(code == 0 or c.ok == true, doc.ok, out)
          if doc.ok == false then
            assert.are.equal(code, doc.exit, out)
            if c.kind then assert.are.equal(c.kind, doc.error.kind, out) end
          end
          local def = doc.ok and defs[command] or defs.Failure
          assert.is_table(def, "no definition for " .. tostring(command))
          local ok, errs = json_schema.validate(schema, doc, def)
          assert.is_true(ok, "not as " .. SCHEMA_PATH .. " says:" .. lines(errs or {}) .. "\n" .. out)
          -- and as the whole schema: exactly one of its documents
          ok, errs = json_schema.validate(schema, doc)
          assert.is_true(ok, lines(errs or {}))
          -- a failure's report is the command's own
          if doc.ok == false and doc.result ~= nil then
            local d = defs[command]
            local report = (d.oneOf and d.oneOf[1] or d).properties.result
            ok, errs = json_schema.validate(schema, doc.result, report)
            assert.is_true(ok, lines(errs or {}))
          end
        end)
      end
    end
  end)
end)
