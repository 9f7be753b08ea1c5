-- luacheck . (lua-check from Debian)
std = "lua54"
max_line_length = 120
include_files = { "lua", "spec", "bin", "examples", ".busted", ".luacheckrc" }
exclude_files = { "build*", "lua_modules" }
files["spec"] = { std = "+busted" }
