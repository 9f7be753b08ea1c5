--- busted --helper for the ASan+UBSan run of scripts/test.sh. Lua 5.4
-- unloads (dlclose) every C module when the state closes, which is before
-- LeakSanitizer looks for leaks at exit, so its stacks would show
-- "<unknown module>" for the frames in proxyshard.core and libcurl. Taking
-- the finalizer off the registry's _CLIBS table keeps the modules loaded
-- until the process ends (what --keep-debuginfo=yes does for valgrind).
-- The module's own cleanup (curl_global_cleanup, sessions' __gc) still
-- runs at lua_close: it hangs off other objects.
local clibs = debug.getregistry()._CLIBS
if type(clibs) == "table" then setmetatable(clibs, nil) end
