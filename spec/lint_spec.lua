-- Code hygiene, as tests: luacheck is clean, and the C module compiles
-- without a warning under -Wall -Wextra -Werror.
local shell = require "support.shell"

describe("lint", function()
  it("luacheck finds nothing", function()
    local out, ok, code = shell.run("luacheck --no-color --formatter plain . 2>&1")
    assert.are.equal("", out)
    assert.is_true(ok, "luacheck exit " .. tostring(code))
  end)

  -- against the headers of every Lua the library's specs run on (CMake's
  -- LUA_PKG; scripts/setup.sh --tests installs them all)
  for _, pkg in ipairs { "lua5.4", "lua5.1", "lua5.2", "lua5.3", "luajit" } do
    it("the C module builds warning-free with -Werror against " .. pkg .. "'s headers", function()
      local dir = shell.tmpdir()
      local out, ok, code = shell.run(("cmake -S . -B %s -DLUA_PKG=%s -DCMAKE_C_FLAGS='-Werror' >/dev/null "
        .. "&& cmake --build %s 2>&1"):format(dir, pkg, dir))
      shell.sh("rm -rf " .. shell.q(dir))
      assert.is_true(ok, "build exit " .. tostring(code) .. "\n" .. out)
      assert.is_nil(out:find("warning:", 1, true), out)
    end)
  end
end)
