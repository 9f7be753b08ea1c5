-- Code hygiene, as tests: luacheck is clean, and the C module compiles
-- without a warning under -Wall -Wextra -Werror.
local function run(cmd)
  local pipe = assert(io.popen(cmd .. " 2>&1"))
  local out = pipe:read("a")
  local ok, _, code = pipe:close()
  return ok, code, out
end

describe("lint", function()
  it("luacheck finds nothing", function()
    local ok, code, out = run("luacheck --no-color --formatter plain .")
    assert.are.equal("", out)
    assert.is_true(ok, "luacheck exit " .. tostring(code))
  end)

  it("the C module builds warning-free with -Werror", function()
    local dir = os.tmpname()
    os.remove(dir)
    local ok, code, out = run(("cmake -S . -B %s -DCMAKE_C_FLAGS='-Werror' >/dev/null && cmake --build %s")
      :format(dir, dir))
    os.execute("rm -rf " .. dir)
    assert.is_true(ok, "build exit " .. tostring(code) .. "\n" .. out)
    assert.is_nil(out:find("warning:", 1, true), out)
  end)
end)
