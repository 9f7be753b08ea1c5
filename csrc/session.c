/*
 * session.c - core.session: one libcurl easy handle, one blocking request
 * at a time (curl_easy_perform). The handle is kept, so its kept-alive
 * connection is reused by the next request; what a request is and what
 * comes back is request.c's, shared with core.multi (multi.c).
 *
 * No callback given to libcurl touches the Lua state (request.c), so a Lua
 * error can never unwind through libcurl. The buffers and the header list
 * belong to the handle, so a memory error while building the result leaks
 * nothing: they are released by the next perform, by close or by __gc.
 */
#include <string.h>

#include "core.h"
#include "request.h"

typedef struct {
    ps_conf conf;               /* its strings live after this struct */
    ps_xfer x;                  /* x.curl is NULL once closed */
} ps_session;

/* ---- core.session(opts) ----------------------------------------------- */

int ps_session_new(lua_State *L)
{
    ps_conf conf;
    ps_session *s;
    size_t room;
    CURLcode rc;

    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    ps_curl_global(L);
    room = ps_conf_read(L, 1, &conf);

    /* The strings live in the same block, after the struct. */
    s = (ps_session *)lua_newuserdata(L, sizeof *s + room);
    memset(s, 0, sizeof *s);
    s->conf = conf;
    ps_conf_keep(&s->conf, (char *)(s + 1));
    luaL_getmetatable(L, PS_SESSION_MT);
    lua_setmetatable(L, -2);

    rc = ps_xfer_open(&s->x, &s->conf, 0);
    if (rc != CURLE_OK)
        return luaL_error(L, "proxyshard.core: cannot make a libcurl handle: %s", curl_easy_strerror(rc));
    return 1;
}

/* ---- session:perform(req) --------------------------------------------- */

static ps_session *check_open(lua_State *L)
{
    ps_session *s = (ps_session *)luaL_checkudata(L, 1, PS_SESSION_MT);

    if (s->x.curl == NULL)
        luaL_error(L, "session is closed");
    return s;
}

static int session_perform(lua_State *L)
{
    ps_session *s = check_open(L);
    CURLcode rc;
    int started = 0;

    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    rc = ps_xfer_prepare(L, 2, &s->x);
    if (rc == CURLE_OK) {
        started = 1;
        rc = curl_easy_perform(s->x.curl);
    }
    if (ps_xfer_push_result(L, &s->x, rc, started))
        return 1;
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

/* ---- close / __gc / __close, __tostring ------------------------------- */

/* Idempotent: close(), __gc and __close all end up here. */
static int session_close(lua_State *L)
{
    ps_session *s = (ps_session *)luaL_checkudata(L, 1, PS_SESSION_MT);

    ps_xfer_close(&s->x);
    return 0;
}

static int session_tostring(lua_State *L)
{
    ps_session *s = (ps_session *)luaL_checkudata(L, 1, PS_SESSION_MT);

    lua_pushstring(L, s->x.curl != NULL ? PS_SESSION_MT " (open)" : PS_SESSION_MT " (closed)");
    return 1;
}

static const luaL_Reg session_methods[] = {
    { "perform", session_perform },
    { "close", session_close },
    { NULL, NULL }
};

static const luaL_Reg session_meta[] = {
    { "__gc", session_close },
    { "__close", session_close },
    { "__tostring", session_tostring },
    { NULL, NULL }
};

void ps_session_init_metatable(lua_State *L)
{
    if (luaL_newmetatable(L, PS_SESSION_MT)) {
        luaL_setfuncs(L, session_meta, 0);
        luaL_newlib(L, session_methods);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
}
