-- Packaging: the rockspec says what the rock needs and how to test it; the
-- rock installs offline with `LUAROCKS_CONFIG=rockspec/debian-config.lua
-- luarocks --lua-version=5.4 make` (lua-cjson comes from Debian, not from a
-- rock server), and the installed copy works on its own: the C module, the Lua modules and
-- the sandbox command, with no path into this checkout. And a checkout
-- copied elsewhere after a build rebuilds instead of failing on CMake's cache.
local shell = require "support.shell"

local ROCKSPEC = "rockspec/proxyshard-scm-1.rockspec"

describe("the rockspec", function()
  local spec

  setup(function()
    spec = {}
    assert(loadfile(ROCKSPEC, "t", spec))()
  end)

  it("passes luarocks lint", function()
    local out, ok = shell.run("luarocks --lua-version=5.4 lint " .. ROCKSPEC .. " 2>&1")
    assert.is_true(ok, out)
  end)

  it("declares Lua (the versions scripts/test.sh runs the library on) and lua-cjson as run-time dependencies",
      function()
    assert.are.same({ "lua >= 5.1, < 5.5", "lua-cjson" }, spec.dependencies)
  end)

  it("installs the sandbox command", function()
    assert.are.equal("bin/proxyshard-sandbox", spec.build.install.bin["proxyshard-sandbox"])
  end)

  it("has a test section that runs busted on Lua 5.4, with nothing to download", function()
    assert.are.equal("command", spec.test.type)
    assert.matches("lua5%.4 /usr/bin/busted", spec.test.command)
    assert.is_nil(spec.test_dependencies)
  end)
end)

-- scripts/setup.sh is the one list of Debian packages: the run-time set
-- (scripts/demo.sh) and the test set on top (scripts/test.sh); the README's
-- "Setup" shows both.
describe("the package sets", function()
  local function set(args)
    local out, ok = shell.run("bash scripts/setup.sh --packages " .. args .. " 2>&1")
    assert.is_true(ok, out)
    local names = {}
    for name in out:gmatch("%S+") do names[#names + 1] = name end
    return names
  end

  local function without(list, taken)
    local seen, rest = {}, {}
    for _, p in ipairs(taken) do seen[p] = true end
    for _, p in ipairs(list) do if not seen[p] then rest[#rest + 1] = p end end
    return rest
  end

  -- the packages of the README's `apt-get install` lines in "Setup", in order
  local function readme_sets()
    local readme = assert(shell.read_file("README.md"))
    local section = assert(readme:match("\n## Setup\n(.-)\n## "), "no Setup section in README.md")
    local sets = {}
    for block in section:gmatch("\n```sh\n(.-)```") do
      local line = block:gsub("\\\n", " ")
      local names = line:match("apt%-get install %-%-no%-install%-recommends ([^\n]*)")
      if names then
        local list = {}
        for name in names:gmatch("%S+") do list[#list + 1] = name end
        sets[#sets + 1] = list
      end
    end
    return sets
  end

  -- with PROXYSHARD_EXTRA_PACKAGES unset: only the two lists
  local runtime, all

  setup(function()
    local saved = os.getenv("PROXYSHARD_EXTRA_PACKAGES")
    assert(saved == nil or saved == "", "PROXYSHARD_EXTRA_PACKAGES is set")
    runtime, all = set(""), set("--tests")
  end)

  it("has what the library and the sandbox need at run time, and no test tool", function()
    local listed = {}
    for _, p in ipairs(runtime) do listed[p] = true end
    for _, p in ipairs { "gcc", "cmake", "lua5.4", "liblua5.4-dev", "libcurl4-openssl-dev", "ca-certificates",
        "lua-cjson", "lua-http" } do
      assert.is_true(listed[p], p .. " is not in the run-time set")
    end
    for _, p in ipairs { "clang", "valgrind", "nginx", "luajit2", "libluajit2-5.1-dev", "lua-busted", "luarocks" } do
      assert.is_nil(listed[p], p .. " is in the run-time set")
    end
  end)

  it("puts the test set on top of the run-time set", function()
    assert.are.same(runtime, { table.unpack(all, 1, #runtime) })
    assert.is_true(#all > #runtime)
  end)

  it("is shown in the README as scripts/setup.sh has it", function()
    local sets = readme_sets()
    assert.are.equal(2, #sets)
    assert.are.same(runtime, sets[1])
    assert.are.same(without(all, runtime), sets[2])
  end)
end)

describe("the rock", function()
  local tree

  setup(function()
    tree = shell.tmpdir()
  end)

  teardown(function()
    shell.sh("rm -rf " .. shell.q(tree) .. " build.luarocks")
  end)

  it("is installed as docs/setup.md says", function()
    local doc = assert(shell.read_file("docs/setup.md"))
    local block = assert(doc:match("\n## The rock\n.-\n```sh\n(.-)```"), "no ```sh block under \"The rock\"")
    assert.truthy(block:find("export LUAROCKS_CONFIG=rockspec/debian-config.lua\n", 1, true), block)
    assert.truthy(block:find("luarocks --lua-version=5.4 --tree lua_modules make " .. ROCKSPEC, 1, true), block)
  end)

  it("installs offline and loads from its tree alone", function()
    -- docs/setup.md's line, into a temporary tree
    local out, ok = shell.run(("LUAROCKS_CONFIG=rockspec/debian-config.lua "
      .. "luarocks --lua-version=5.4 --tree %s make %s 2>&1"):format(tree, ROCKSPEC))
    assert.is_true(ok, out)
    -- a fresh interpreter, in another directory, seeing only the tree
    -- (and the system's lua-cjson)
    local script = [[
      local p = require "proxyshard"
      local m = p.money.cents(123456)
      local c = p.new { token = "test-token", base_url = "http://127.0.0.1:1" }
      local o = assert(c:order(5))
      local info, err = o:fetch()
      io.write(tostring(m), " ", package.searchpath("proxyshard.core", package.cpath), " ", err.kind, "\n")
    ]]
    out, ok = shell.run(("cd / && LUA_PATH_5_4='%s/share/lua/5.4/?.lua;%s/share/lua/5.4/?/init.lua;;' "
      .. "LUA_CPATH_5_4='%s/lib/lua/5.4/?.so;;' lua5.4 -e '%s' 2>&1"):format(tree, tree, tree, script))
    assert.is_true(ok, out)
    assert.are.equal(("$1,234.56 %s/lib/lua/5.4/proxyshard/core.so network\n"):format(tree), out)
  end)

  it("installs a sandbox command that runs from anywhere", function()
    -- run by the previous test's install; stopped by SIGTERM after 2 s
    local out = shell.run(("cd / && timeout -s TERM 2 %s/bin/proxyshard-sandbox --port 0 2>&1"):format(tree))
    assert.matches("proxyshard sandbox listening on http://127%.0%.0%.1:%d+ %(token: sandbox%-token%)", out)
    assert.matches("proxyshard sandbox stopped", out)
  end)
end)

-- The three CMake build folders (scripts/setup.sh: build/,
-- scripts/build-luajit.sh: build-luajit/, scripts/test.sh: build-asan/,
-- all through scripts/lib/build.sh), configured in one checkout, which is
-- then copied elsewhere (as to /opt/proxyshard) and built there.
describe("a checkout copied elsewhere after a build", function()
  local dir

  setup(function()
    dir = shell.tmpdir()
  end)

  teardown(function()
    shell.sh("rm -rf " .. shell.q(dir))
  end)

  local BUILDS = {
    { dir = "build", args = "" },
    { dir = "build-luajit", args = "-DLUA_PKG=luajit" },
    { dir = "build-asan", args = "-DENABLE_ASAN=ON" },
  }

  -- the three builds as the scripts do them, in the checkout at `path`: output, ok
  local function build_all(path)
    return shell.run(("cd %s && bash scripts/setup.sh 2>&1 && bash scripts/build-luajit.sh 2>&1 && "
      .. "bash -c 'source scripts/lib/build.sh && build_module build-asan -DENABLE_ASAN=ON' 2>&1")
      :format(shell.q(path)))
  end

  local function cmake_home(build_dir)
    local cache = assert(shell.read_file(build_dir .. "/CMakeCache.txt"), "no CMakeCache.txt in " .. build_dir)
    return cache:match("\nCMAKE_HOME_DIRECTORY:INTERNAL=([^\n]*)")
  end

  local function literal(s) return (s:gsub("%p", "%%%0")) end

  it("builds each build folder afresh there, and only once", function()
    local first, moved = dir .. "/first", dir .. "/moved"
    assert(shell.sh(("mkdir %s && cp -r CMakeLists.txt csrc lua bin scripts %s/")
      :format(shell.q(first), shell.q(first))))
    for _, b in ipairs(BUILDS) do -- configured only: the cache is what a copy gets wrong
      local out, ok = shell.run(("cd %s && cmake -S . -B %s %s 2>&1"):format(shell.q(first), b.dir, b.args))
      assert.is_true(ok, out)
    end
    assert(shell.sh(("cp -a %s %s"):format(shell.q(first), shell.q(moved))))

    local out, ok = build_all(moved)
    assert.is_true(ok, out)
    for _, b in ipairs(BUILDS) do
      local said = ("build: %s/ was configured for %s, not %s: building it afresh"):format(b.dir, first, moved)
      assert.matches(literal(said), out)
      assert.are.equal(moved, cmake_home(moved .. "/" .. b.dir))
      assert.is_true(shell.sh(("test -f %s/%s/lib/proxyshard/core.so"):format(shell.q(moved), b.dir)))
    end

    -- built for this place now: not again
    out, ok = build_all(moved)
    assert.is_true(ok, out)
    assert.does_not.match("afresh", out)
  end)
end)
