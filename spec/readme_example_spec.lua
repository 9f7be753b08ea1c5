-- The README's two quick starts run as written against the sandbox.
--
-- The library's: the ```lua block of "Quick start: the library", saved to
-- a file and run by lua5.4 with PROXYSHARD_BASE_URL and PROXYSHARD_TOKEN
-- pointing at a sandbox started here, and the checkout's modules on the
-- LUA_PATH_5_4/LUA_CPATH_5_4 of the section's own `export` line, run in
-- the checkout as the README says. What it prints is what its `-->`
-- comments say.
--
-- The command's: each `$ ` line of the ```console block of "Quick start:
-- the command", run by sh from the checkout against a fresh sandbox
-- (--sandbox finds it through PROXYSHARD_SANDBOX_URL), prints exactly the
-- lines under it (stdout and stderr together). The line that starts the
-- sandbox is not run: the sandbox started here prints the same line, but
-- for its port.
local shell = require "support.shell"
local sandbox_process = require "support.sandbox_process"

local function section(title)
  local readme = assert(shell.read_file("README.md"))
  return assert(readme:match("\n## " .. title:gsub("%p", "%%%0") .. "\n(.-)\n## "), "no section " .. title
    .. " in README.md")
end

local function library_example()
  local text = section("Quick start: the library")
  local code = assert(text:match("\n```lua\n(.-\n)```\n"), "no ```lua block in the library's quick start")
  local paths = assert(text:match("\n(export LUA_PATH_5_4=[^\n]*LUA_CPATH_5_4=[^\n]*)\n"),
    "no `export LUA_PATH_5_4=... LUA_CPATH_5_4=...` line in the library's quick start")
  return code, paths
end

-- the `-->` comments, in order: at the end of a print line or on a line of their own
local function expected_output(code)
  local lines = {}
  for line in code:gmatch("[^\n]+") do
    local said = line:match("%-%->%s*(.-)%s*$")
    if said then lines[#lines + 1] = said end
  end
  return lines
end

-- The console block's commands: { command = "...", output = { lines } }.
local function console_session()
  local block = assert(section("Quick start: the command"):match("\n```console\n(.-\n)```\n"),
    "no ```console block in the command's quick start")
  local steps = {}
  for line in block:gmatch("([^\n]*)\n") do
    local command = line:match("^%$ (.*)$")
    if command then
      steps[#steps + 1] = { command = command, output = {} }
    else
      local step = assert(steps[#steps], "output before the first command: " .. line)
      step.output[#step.output + 1] = line
    end
  end
  return steps
end

local ROOT = assert(shell.run("pwd"):match("^(.-)\n$"))

describe("the README's library quick start", function()
  local sb, dir

  setup(function()
    sb = sandbox_process.start()
    dir = shell.tmpdir()
  end)

  teardown(function()
    if sb then sb:stop() end
    shell.sh("rm -rf " .. shell.q(dir))
  end)

  it("reads its base URL and token from the environment", function()
    local code = library_example()
    assert.matches('base_url = os.getenv%("PROXYSHARD_BASE_URL"%)', code)
    assert.matches('token = os.getenv%("PROXYSHARD_TOKEN"%)', code)
  end)

  it("runs as written against the sandbox and prints what its comments say", function()
    local code, paths = library_example()
    local expected = expected_output(code)
    assert.is_true(#expected >= 3, "too few --> comments in the example")
    local file = dir .. "/quickstart.lua"
    shell.write_file(file, code)

    -- the README's export line, in the checkout; then run from another
    -- folder: only those paths lead to the checkout's modules
    local out, ok = shell.run(("cd %s && %s && cd %s && PROXYSHARD_BASE_URL=%s PROXYSHARD_TOKEN=sandbox-token "
      .. "lua5.4 %s 2>&1"):format(shell.q(ROOT), paths, shell.q(dir), shell.q(sb.url), shell.q(file)))
    assert.is_true(ok, out)
    local printed = {}
    for line in out:gmatch("[^\n]+") do printed[#printed + 1] = line end
    assert.are.same(expected, printed)

    -- one purchase, under its cap of 60 cents
    local ledger = sb:ledger()
    assert.are.equal(1, #ledger)
    assert.are.equal(60, ledger[1].amount_cents)
  end)
end)

describe("the README's command quick start", function()
  local sb, state

  setup(function()
    sb = sandbox_process.start()
    state = shell.tmpdir()
  end)

  teardown(function()
    if sb then sb:stop() end
    shell.sh("rm -rf " .. shell.q(state))
  end)

  it("starts the sandbox as the sandbox says it does", function()
    local steps = console_session()
    assert.are.equal("bin/proxyshard-sandbox &", steps[1].command)
    assert.are.same({ (sb.line:gsub("127%.0%.0%.1:%d+", "127.0.0.1:8089")) }, steps[1].output)
  end)

  it("prints what the README shows, command by command, and spends what it says", function()
    local steps = console_session()
    assert.is_true(#steps >= 5, "too few commands in the command's quick start")
    -- without the caller's token or API: only --sandbox's
    local env = ("env -u PROXYSHARD_TOKEN -u PROXYSHARD_BASE_URL -u PROXYSHARD_SANDBOX_TOKEN -u PROXYSHARD_CONFIG "
      .. "PROXYSHARD_SANDBOX_URL=%s PROXYSHARD_STATE_DIR=%s "):format(shell.q(sb.url), shell.q(state))
    for i = 2, #steps do
      local step = steps[i]
      assert.matches("^bin/proxyshard ", step.command)
      local out = shell.run(("cd %s && %s sh -c %s 2>&1 </dev/null"):format(shell.q(ROOT), env,
        shell.q(step.command)))
      local printed = {}
      for line in out:gmatch("([^\n]*)\n") do printed[#printed + 1] = line end
      assert.are.same(step.output, printed, "$ " .. step.command)
    end
    -- the one purchase under the $1.00 cap; the one over $0.50 bought nothing
    local ledger = sb:ledger()
    assert.are.equal(1, #ledger)
    assert.are.equal(60, ledger[1].amount_cents)
  end)
end)
