-- luacheck . (lua-check from Debian)
std = "lua54"
max_line_length = 120
include_files = { "lua", "spec", "bin", "scripts/*.lua", "examples/**/*.lua", "bench/*.lua", ".busted", ".luacheckrc" }
exclude_files = { "build*", "lua_modules" }
files["spec"] = { std = "+busted" }
exclude_files[#exclude_files + 1] = "spec/support/nginx/*.template" -- nginx config, not Lua (spec/nginx_spec.lua)
