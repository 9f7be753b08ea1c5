-- Writes the manual page proxyshard(1) (lua/proxyshard/cli/man.lua, what
-- `proxyshard man` prints) to OUT, or to standard output: CMake's
-- PROXYSHARD_MAN runs it when the rock is built. It loads the modules of
-- this checkout, on Lua 5.4 (the command's Lua), and needs neither
-- argparse nor libcurl.
--   lua5.4 scripts/man.lua [OUT]
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = dir .. "/../lua/?.lua;" .. dir .. "/../lua/?/init.lua;" .. package.path

local page = require("proxyshard.cli.man").page(os.getenv)
local out = arg[1]
if out == nil or out == "-" then
  io.write(page)
  return
end
local f = assert(io.open(out .. ".tmp", "w"))
assert(f:write(page))
assert(f:close())
assert(os.rename(out .. ".tmp", out))
