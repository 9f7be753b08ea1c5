-- The README's usage example runs as written against the sandbox: the
-- ```lua block of its "Usage" section, saved to a file and run by lua5.4
-- with PROXYSHARD_BASE_URL and PROXYSHARD_TOKEN pointing at a sandbox
-- started here, and the checkout's modules on LUA_PATH_5_4/LUA_CPATH_5_4,
-- as the README says. What it prints is what its `-->` comments say.
local shell = require "support.shell"
local sandbox_process = require "support.sandbox_process"

local function usage_example()
  local readme = assert(shell.read_file("README.md"))
  local section = assert(readme:match("\n## Usage\n(.-)\n## "), "no Usage section in README.md")
  return assert(section:match("\n```lua\n(.-\n)```\n"), "no ```lua block in the Usage section")
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

describe("the README's usage example", function()
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
    local code = usage_example()
    assert.matches('base_url = os.getenv%("PROXYSHARD_BASE_URL"%)', code)
    assert.matches('token = os.getenv%("PROXYSHARD_TOKEN"%)', code)
  end)

  it("runs as written against the sandbox and prints what its comments say", function()
    local code = usage_example()
    local expected = expected_output(code)
    assert.is_true(#expected >= 3, "too few --> comments in the example")
    local file = dir .. "/usage.lua"
    shell.write_file(file, code)

    -- run from another folder: only the README's paths lead to the checkout
    local here = assert(shell.run("pwd"):match("^(.-)\n$"))
    local out, ok = shell.run(("cd %s && LUA_PATH_5_4=%s LUA_CPATH_5_4=%s PROXYSHARD_BASE_URL=%s "
      .. "PROXYSHARD_TOKEN=sandbox-token lua5.4 %s 2>&1"):format(shell.q(dir),
      shell.q(here .. "/lua/?.lua;" .. here .. "/lua/?/init.lua;;"), shell.q(here .. "/build/lib/?.so;;"),
      shell.q(sb.url), shell.q(file)))
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
