-- The REPL (`proxyshard repl`: Lua 5.4's own interactive loop with
-- proxyshard, money, help and a client loaded) and help(): fed on standard
-- input, under tmux on a real terminal (readline's line editing), and
-- from a plain `lua5.4 -i`. help() is made from the operation table, so
-- every row must show in it; and every value the library returns must
-- print as something readable, since the REPL prints results by tostring.
local shell = require "support.shell"
local sandbox_process = require "support.sandbox_process"
local operations = require "proxyshard.operations"
local help = require "proxyshard.help"

local q = shell.q
local ROOT = shell.run("pwd"):gsub("%s+$", "")

-- Feed `input` to `command` (run in the checkout): its stdout and stderr together, and its status.
local function feed(command, input, env)
  local file = os.tmpname()
  shell.write_file(file, input)
  local words = {}
  for k, v in pairs(env or {}) do words[#words + 1] = k .. "=" .. q(v) end
  local out, _, code = shell.run(("cd %s && env -i PATH=%s %s %s <%s 2>&1"):format(q(ROOT), q(os.getenv("PATH")),
    table.concat(words, " "), command, q(file)))
  os.remove(file)
  return out, code
end

local LUA_PATHS = {
  LUA_PATH_5_4 = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;;",
  LUA_CPATH_5_4 = ROOT .. "/build/lib/?.so;;",
}

describe("help()", function()
  it("lists every call, by handle, with its summary", function()
    local text = help.text()
    for _, row in ipairs(operations.rows) do
      local var = help.BY_HANDLE[row.handle].var
      assert.is_truthy(text:find(var .. ":" .. row.name .. "(", 1, true), row.name)
      assert.is_truthy(text:find(row.summary, 1, true), row.summary)
    end
    for _, h in ipairs(help.HANDLES) do
      assert.is_truthy(text:find(h.var .. " = " .. h.made, 1, true), h.var)
    end
    assert.matches("client:all_orders%(", text)
    assert.matches("order:top_up_p0f%(", text)
  end)

  it("describes one call: parameters, options, result, example and the command", function()
    local text = help.text("purchase")
    assert.matches("^addon:purchase%(add_qty %[, opts%]%)    POST /user/api/orders/{order_id}/addons/purchase", text)
    assert.matches("add_qty %(body, quantity, required%)%s+argument 1", text)
    assert.matches("order_id %(path, id, required%)%s+from the handle: client:order%(order_id%)", text)
    assert.matches("max_total%s+the most to spend", text)
    assert.matches("returns: proxyshard.model.receipt — What an add%-on purchase returned.", text)
    assert.matches('example: client:order%(12345%):addon%("p0f_slots"%):purchase%(2', text)
    assert.matches("command: proxyshard purchase ORDER_ID ADDON_KEY ADD_QTY %[%-%-max%-total DOLLARS%]", text)
    -- a name two handles share: both; a command's name: its call
    local fetch = help.text("fetch")
    assert.matches("order:fetch%(", fetch)
    assert.matches("sub_user:fetch%(", fetch)
    assert.matches("^order:set_signatures%(items", help.text("sign"))
    assert.matches("^res:sub_user%(user_id%)", help.text("residential.sub_user"))
    assert.matches('no call named "nope"', help.text("nope"))
  end)

  it("has every row described", function()
    for _, row in ipairs(operations.rows) do
      local text = help.text(row.handle .. "." .. row.name)
      assert.is_truthy(text:find(row.summary, 1, true), row.name)
      assert.is_truthy(text:find(row.method .. " " .. row.path, 1, true), row.name)
    end
  end)

  it("is a table that prints its overview, and sets no global unless asked", function()
    assert.are.equal(help.text(), tostring(help))
    assert.is_nil(rawget(_G, "help"))
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

  it("`proxyshard repl` shows help() and prints results without print()", function()
    local out, code = feed("lua5.4 bin/proxyshard repl", table.concat({
      "help()",
      "client:order(12345):fetch()",
      "help(client:order(12345))",
      "client:me().wallet_balance + money.parse('0.50')",
      "client:order(99999):fetch()",
    }, "\n") .. "\n", env)
    assert.are.equal(0, code, out)
    assert.matches("^Lua 5%.4", out)
    assert.matches("proxyshard, money, help and client are loaded; client is the proxyshard client for "
      .. sb.url:gsub("%p", "%%%0") .. " %(token set%)", out)
    assert.matches("\norder = client:order%(order_id%)\n  order:fetch%(%[opts%]%)%s+the order's details", out)
    assert.matches("\n> client:order%(12345%):fetch%(%)\norder 12345 %(Datacenter Proxy, monthly, active, 5 IPs, "
      .. "expires 2026%-12%-01T09:00:00Z, auto%-renewal on%): p0f_slots: "
      .. "3 × %$0%.30; p0f slots 1/3 used, 3 next period\n", out)
    assert.matches("proxyshard order 12345 — the order handle", out)
    assert.matches("\n%$100%.50\n", out)
    assert.matches("\nnil\tproxyshard not_found error: ", out)
  end)

  it("runs on a real terminal (tmux), with readline's line editing", function()
    assert(shell.sh("command -v tmux >/dev/null"), "tmux is needed: scripts/setup.sh --tests")
    local session = "proxyshard-repl-spec-" .. os.time()
    local cmd = ("cd %s && PROXYSHARD_TOKEN=sandbox-token PROXYSHARD_BASE_URL=%s lua5.4 bin/proxyshard repl")
      :format(q(ROOT), q(sb.url))
    assert(shell.sh(("tmux new-session -d -s %s -x 160 -y 40 %s"):format(session, q(cmd))))
    local function screen() return shell.run("tmux capture-pane -p -t " .. session) end
    local function wait(pattern) return shell.wait_for(function() return screen():find(pattern) end, 15) end
    -- the prompt, last on the screen (tmux drops its trailing space)
    local function prompt()
      return shell.wait_for(function() return screen():gsub("%s+$", ""):sub(-1) == ">" end, 15)
    end
    local ok, why = pcall(function()
      assert(prompt(), "no prompt:\n" .. screen())
      -- typed without its "(": the cursor goes back over ")" and puts it in
      shell.sh("tmux send-keys -t " .. session .. " 'client:me)' Left '(' Enter")
      assert(wait("wallet %$100%.00"), "no account printed:\n" .. screen())
      shell.sh("tmux send-keys -t " .. session .. " 'help(\"quote\")' Enter")
      assert(wait("addon:quote%(add_qty"), "no help:\n" .. screen())
    end)
    shell.sh("tmux kill-session -t " .. session .. " 2>/dev/null")
    assert(ok, why)
  end)

  it("the same help works in a plain lua5.4 -i", function()
    local out, code = feed("lua5.4 -i", table.concat({
      'proxyshard = require "proxyshard"',
      'help = require "proxyshard.help"',
      'help("quote")',
      "c = proxyshard.new{ token = os.getenv('PROXYSHARD_TOKEN'), base_url = os.getenv('PROXYSHARD_BASE_URL') }",
      "c:order(12345):addon('p0f_slots'):quote(2)",
    }, "\n") .. "\n", {
      PROXYSHARD_TOKEN = env.PROXYSHARD_TOKEN, PROXYSHARD_BASE_URL = env.PROXYSHARD_BASE_URL,
      LUA_PATH_5_4 = LUA_PATHS.LUA_PATH_5_4, LUA_CPATH_5_4 = LUA_PATHS.LUA_CPATH_5_4,
    })
    assert.are.equal(0, code, out)
    assert.matches("addon:quote%(add_qty %[, opts%]%)", out)
    assert.matches("\np0f_slots %+2 on order 12345: 2 × %$0%.30 = %$0%.60 %(3 → 5%)\n", out)
    out = feed("lua5.4 -i -l help=proxyshard.help", "help\n", LUA_PATHS)
    assert.matches("\n> help\nproxyshard [%d.]+: every call", out)
  end)

  it("as proxyshard.help after require \"proxyshard\"", function()
    local proxyshard = require "proxyshard"
    if proxyshard.help == nil then
      pending("lua/proxyshard/init.lua does not give proxyshard.help yet")
      return
    end
    assert.are.equal(help, proxyshard.help)
  end)

  it("every value a read returns prints as something readable (the REPL prints results by tostring)", function()
    local proxyshard = require "proxyshard"
    local client = proxyshard.new { token = "sandbox-token", base_url = sb.url }
    local res = client:residential("premium")
    local results = {
      client = client, order = client:order(12345), addon = client:order(12345):addon("p0f_slots"), res = res,
      sub_user = res:sub_user("u-1"), broken = client:order("x"),
      ["client:all_orders"] = client:all_orders({ status = "all" }),
      ["res:all_sub_users"] = res:all_sub_users(),
    }
    local calls = {
      ["client:quote_order"] = { client, "quote_order", { product = "Datacenter Proxy", location = "DE",
        cycle = "monthly", quantity = 2 } },
      ["client:orders"] = { client, "orders", { status = "active" } },
      ["res:regions"] = { res, "regions", "DE" }, ["res:cities"] = { res, "cities", "DE", "BE" },
      ["res:isps"] = { res, "isps", "DE", "BE", "berlin" },
    }
    local handles = { client = client, order = results.order, addon = results.addon, residential = res,
      sub_user = results.sub_user }
    for _, row in ipairs(operations.rows) do
      local key = help.BY_HANDLE[row.handle].var .. ":" .. row.name
      if row.class == "read" and not calls[key] and (row.args == "table" or #row.args == 0) then
        calls[key] = { handles[row.handle], row.name }
      end
    end
    for key, c in pairs(calls) do
      local value, err = c[1][c[2]](c[1], table.unpack(c, 3))
      assert(value ~= nil, key .. ": " .. tostring(err))
      results[key] = value
    end
    local unreadable = {}
    local function check(where, v)
      if type(v) ~= "table" and type(v) ~= "userdata" then return end
      local text = tostring(v)
      if text:match("^table: 0x") or text:match("^[%w._]+: 0x%x+$") then unreadable[#unreadable + 1] = where end
    end
    for key, v in pairs(results) do
      check(key, v)
      if type(v) == "table" and getmetatable(v) == nil or (type(v) == "table" and #v > 0) then
        for i = 1, math.min(#v, 1) do check(key .. "[" .. i .. "]", v[i]) end
      end
      if type(v) == "table" and type(v.addons) == "table" then check(key .. ".addons", v.addons) end
    end
    table.sort(unreadable)
    assert.are.same({}, unreadable)
  end)
end)
