/*
 * cents.c - core.cents_*: the integer-cents primitives on plain Lua
 * numbers, over the checked maths of money_math.c.
 *
 * Every value is limited to +/-(2^53 - 1) so it is exact both as a Lua 5.4
 * integer and as a LuaJIT double. Lua 5.4 integer arithmetic wraps silently,
 * so the sums and products are checked in C.
 */
#include "core.h"
#include "money_math.h"

/* Cents argument: a Lua integer or an integral float within range; raises
 * otherwise (a programmer error). -0.0 is read as 0. */
static int64_t check_cents(lua_State *L, int arg)
{
    int64_t v = 0;
    int negzero;

    if (!ps_tocents(L, arg, &v, &negzero)) {
        const char *msg;
        if (lua_type(L, arg) != LUA_TNUMBER)
            msg = lua_pushfstring(L, "integral number of cents expected, got %s",
                                  luaL_typename(L, arg));
        else
            msg = "integral number of cents within +/-(2^53-1) expected";
        luaL_argerror(L, arg, msg);
    }
    return v;
}

/* Raise when the maths refused (the result would leave the range). */
static int push_result(lua_State *L, const char *op, ps_money_status st, int64_t r)
{
    if (st != PS_MONEY_OK)
        return luaL_error(L, "%s: result out of range (|cents| > 2^53-1)", op);
    ps_pushcents(L, r);
    return 1;
}

int ps_cents_add(lua_State *L)
{
    int64_t a = check_cents(L, 1), b = check_cents(L, 2), r = 0;
    ps_money_status st = ps_money_add(a, b, &r);

    return push_result(L, "cents_add", st, r);
}

int ps_cents_sub(lua_State *L)
{
    int64_t a = check_cents(L, 1), b = check_cents(L, 2), r = 0;
    ps_money_status st = ps_money_sub(a, b, &r);

    return push_result(L, "cents_sub", st, r);
}

int ps_cents_mul(lua_State *L)
{
    int64_t a = check_cents(L, 1), n = check_cents(L, 2), r = 0;
    ps_money_status st = ps_money_mul(a, n, &r);

    return push_result(L, "cents_mul", st, r);
}

/* Validation for data (e.g. decoded JSON): never raises, returns nil, msg. */
int ps_cents_check(lua_State *L)
{
    int64_t v;
    int negzero;

    if (!ps_tocents(L, 1, &v, &negzero)) {
        lua_pushnil(L);
        if (lua_type(L, 1) != LUA_TNUMBER)
            lua_pushfstring(L, "cents must be a number, got %s", luaL_typename(L, 1));
        else
            lua_pushliteral(L, "cents must be an integral number within +/-(2^53-1)");
        return 2;
    }
    if (negzero) {
        lua_pushnil(L);
        lua_pushliteral(L, "cents must not be -0.0");
        return 2;
    }
    ps_pushcents(L, v);
    return 1;
}

int ps_cents_format(lua_State *L)
{
    static const ps_money_style plain = { "", ".", "", 0 };
    char buf[PS_MONEY_TEXT_MAX];
    size_t len = ps_money_format(check_cents(L, 1), &plain, buf);

    lua_pushlstring(L, buf, len);
    return 1;
}
