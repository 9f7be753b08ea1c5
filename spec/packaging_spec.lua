-- The rock installs offline with `luarocks --lua-version=5.4 make`, and the
-- installed copy works on its own: the C module, the Lua modules and the
-- sandbox command, with no path into this checkout.
local shell = require "support.shell"

describe("the rock", function()
  local tree

  setup(function()
    tree = shell.tmpdir()
  end)

  teardown(function()
    shell.sh("rm -rf " .. shell.q(tree) .. " build.luarocks")
  end)

  it("installs offline and loads from its tree alone", function()
    local out, ok = shell.run(("luarocks --lua-version=5.4 --tree %s make rockspec/proxyshard-scm-1.rockspec 2>&1")
      :format(tree))
    assert.is_true(ok, out)
    -- a fresh interpreter, in another directory, seeing only the tree
    -- (and the system's lua-cjson)
    local script = [[
      local p = require "proxyshard"
      local m = p.money.cents(123456)
      local c = p.new { token = "t", base_url = "http://127.0.0.1:1" }
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
