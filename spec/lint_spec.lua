-- Code hygiene, as tests: luacheck is clean, and the C module compiles
-- without a warning under -Wall -Wextra -Werror.
local shell = require "support.shell"

describe("lint", function()
  it("luacheck finds nothing", function()
    local out, ok, code = shell.run("luacheck --no-color --formatter plain . 2>&1")
    assert.are.equal("", out)
    assert.is_true(ok, "luacheck exit " .. tostring(code))
  end)

  it("the C module builds warning-free with -Werror", function()
    local dir = shell.tmpdir()
    local out, ok, code = shell.run(("cmake -S . -B %s -DCMAKE_C_FLAGS='-Werror' >/dev/null && cmake --build %s 2>&1")
      :format(dir, dir))
    shell.sh("rm -rf " .. shell.q(dir))
    assert.is_true(ok, "build exit " .. tostring(code) .. "\n" .. out)
    assert.is_nil(out:find("warning:", 1, true), out)
  end)
end)
