/*
 * core.c - luaopen_proxyshard_core: the module table, the session, multi
 * and lock metatables, and libcurl's global state.
 */
#include <curl/curl.h>

#include "core.h"

/* Registry key of the userdata whose __gc undoes curl_global_init. */
#define PS_GLOBAL_KEY "proxyshard.core.curl_global"

static const luaL_Reg core_funcs[] = {
    { "session", ps_session_new },
    { "multi", ps_multi_new },
    { "sleep", ps_sleep },
    { "monotonic", ps_monotonic },
    { "lock", ps_lock_new },
    { "append", ps_append },
    { "replace", ps_replace },
    { "mkdirs", ps_mkdirs },
    { "process", ps_process },
    { "sha256", ps_sha256 },
    { "trap", ps_trap },
    { "trapped", ps_trapped },
    { "untrap", ps_untrap },
    { "quiet_pipe", ps_quiet_pipe },
    { "shape", ps_answer_shape }, { "decode", ps_answer_decode },
    { NULL, NULL }
};

static int global_gc(lua_State *L)
{
    int *initialized = (int *)lua_touserdata(L, 1);

    if (initialized != NULL && *initialized) {
        *initialized = 0;
        curl_global_cleanup();
    }
    return 0;
}

/*
 * curl_global_init once per Lua state, on first use: by the first
 * core.session or core.multi, before its userdata is made (a state that
 * only does money never initialises libcurl, nor its TLS library). The
 * cleanup hangs off a registry userdata made then, so at lua_close it is
 * finalized after every session and multi (finalizers run in reverse
 * order) and before the module is dlclose'd (the loader's finalizer is
 * older still). libcurl counts init/cleanup pairs, so several states in
 * one process are fine.
 */
void ps_curl_global(lua_State *L)
{
    int *initialized;
    CURLcode rc;

    lua_getfield(L, LUA_REGISTRYINDEX, PS_GLOBAL_KEY);
    if (!lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);

    /* Userdata and finalizer first: a memory error here must not leave an
     * init without its cleanup. */
    initialized = (int *)lua_newuserdata(L, sizeof *initialized);
    *initialized = 0;
    lua_newtable(L);
    lua_pushcfunction(L, global_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);

    rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        luaL_error(L, "proxyshard.core: curl_global_init failed: %s",
                   curl_easy_strerror(rc));
    *initialized = 1;
    lua_setfield(L, LUA_REGISTRYINDEX, PS_GLOBAL_KEY);
}

PS_EXPORT int luaopen_proxyshard_core(lua_State *L)
{
    /* curl_version_info, not curl_version(): the latter initialises
     * LDAP/SASL and shows up as leaked under valgrind. */
    const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);

    ps_session_init_metatable(L);
    ps_multi_init_metatable(L);
    ps_lock_init_metatable(L);

    luaL_newlib(L, core_funcs);
    lua_pushstring(L, info != NULL && info->version != NULL ? info->version : "unknown");
    lua_setfield(L, -2, "curl_version");
    /* the TLS library libcurl was built with, for `proxyshard version` */
    lua_pushstring(L, info != NULL && info->ssl_version != NULL ? info->ssl_version : "none");
    lua_setfield(L, -2, "curl_ssl_version");
    ps_money_open(L);
    lua_setfield(L, -2, "money");
    return 1;
}
