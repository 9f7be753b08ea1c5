/*
 * compat.h - the few Lua C API differences between Lua 5.4 (5.2/5.3) and
 * Lua 5.1/LuaJIT that proxyshard.core needs, kept in one place so the other
 * sources carry no version #ifdefs.
 *
 * Cents are exact integers limited to +/-(2^53 - 1) (PS_MAX_CENTS): a Lua
 * integer on 5.3+, a double on 5.1/LuaJIT, and that range is exact in both.
 */
#ifndef PROXYSHARD_COMPAT_H
#define PROXYSHARD_COMPAT_H

#include <math.h>
#include <stdint.h>

#include <lua.h>
#include <lauxlib.h>

#define PS_MAX_CENTS INT64_C(9007199254740991) /* 2^53 - 1 */

/* The build uses -fvisibility=hidden; only luaopen_* is exported. */
#if defined(__GNUC__)
#define PS_EXPORT __attribute__((visibility("default")))
#else
#define PS_EXPORT
#endif

#if LUA_VERSION_NUM < 502

/* LuaJIT 2.1 already has luaL_setfuncs and luaL_newlib; plain 5.1 does not. */
#ifndef luaL_newlib
/* Register functions with nup shared upvalues into the table on top of the
 * stack below them, like 5.2's luaL_setfuncs. */
static inline void ps_setfuncs(lua_State *L, const luaL_Reg *l, int nup)
{
    int i;

    luaL_checkstack(L, nup, "too many upvalues");
    for (; l->name != NULL; l++) {
        for (i = 0; i < nup; i++)
            lua_pushvalue(L, -nup);
        lua_pushcclosure(L, l->func, nup);
        lua_setfield(L, -(nup + 2), l->name);
    }
    lua_pop(L, nup);
}
#define luaL_setfuncs(L, l, nup) ps_setfuncs((L), (l), (nup))
#define luaL_newlib(L, l) (lua_newtable(L), luaL_setfuncs((L), (l), 0))

/* The userdata at idx when its metatable is tname's, else NULL. */
static inline void *ps_testudata(lua_State *L, int idx, const char *tname)
{
    void *p = lua_touserdata(L, idx);

    if (p == NULL || !lua_getmetatable(L, idx))
        return NULL;
    luaL_getmetatable(L, tname);
    if (!lua_rawequal(L, -1, -2))
        p = NULL;
    lua_pop(L, 2);
    return p;
}
#define luaL_testudata(L, idx, tname) ps_testudata((L), (idx), (tname))
#endif /* !luaL_newlib */

#define lua_rawlen(L, i) lua_objlen((L), (i))
/* A userdata's user value (a table): 5.1's environment. */
#define lua_setuservalue(L, i) lua_setfenv((L), (i))
#define lua_getuservalue(L, i) lua_getfenv((L), (i))
#define lua_absindex(L, i) \
    ((i) > 0 || (i) <= LUA_REGISTRYINDEX ? (i) : lua_gettop(L) + (i) + 1)

#endif /* LUA_VERSION_NUM < 502 */

/* Do Lua integers exist and hold every cent value exactly? */
#if LUA_VERSION_NUM >= 503 && LUA_MAXINTEGER >= 9007199254740991
#define PS_HAVE_INTEGERS 1
#else
#define PS_HAVE_INTEGERS 0
#endif

/* Push a value known to be within +/-PS_MAX_CENTS. */
static inline void ps_pushcents(lua_State *L, int64_t v)
{
#if PS_HAVE_INTEGERS
    lua_pushinteger(L, (lua_Integer)v);
#else
    lua_pushnumber(L, (lua_Number)v);
#endif
}

/* Push a small integer (status code, libcurl code, byte count). */
static inline void ps_pushint(lua_State *L, long v)
{
#if PS_HAVE_INTEGERS
    lua_pushinteger(L, (lua_Integer)v);
#else
    lua_pushnumber(L, (lua_Number)v);
#endif
}

/*
 * Read the number at idx as cents without coercing strings. Returns 1 and
 * stores the value when it is an integer (or an integral float) within
 * +/-PS_MAX_CENTS, else 0. *negzero is set when the value is the float -0.0,
 * which cents_check rejects while arithmetic treats it as 0.
 */
static inline int ps_tocents(lua_State *L, int idx, int64_t *out, int *negzero)
{
    lua_Number n;

    *negzero = 0;
    if (lua_type(L, idx) != LUA_TNUMBER)
        return 0;
#if PS_HAVE_INTEGERS
    if (lua_isinteger(L, idx)) {
        lua_Integer i = lua_tointeger(L, idx);
        if (i < -PS_MAX_CENTS || i > PS_MAX_CENTS)
            return 0;
        *out = (int64_t)i;
        return 1;
    }
#endif
    n = lua_tonumber(L, idx);
    /* NaN fails every comparison, +/-inf fails the range test. */
    if (!(n >= -(lua_Number)PS_MAX_CENTS && n <= (lua_Number)PS_MAX_CENTS))
        return 0;
    if (n != floor(n))
        return 0;
    if (n == 0 && signbit(n))
        *negzero = 1;
    *out = (int64_t)n;
    return 1;
}

#endif /* PROXYSHARD_COMPAT_H */
