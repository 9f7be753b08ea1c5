/*
 * money.c - the money userdata: an immutable int64_t number of cents, with
 * operators and methods, bound to Lua over money_math.c. Exposed as
 * proxyshard.core.money; lua/proxyshard/money.lua is its Lua face.
 *
 * Errors in the arithmetic (overflow, money + number, a fraction of a
 * cent) are programmer errors and raise; bad text given to parse is data
 * and returns nil, message.
 */
#include <string.h>

#include "core.h"
#include "money_math.h"

typedef struct {
    int64_t cents;
} ps_money;

/* ---- values ----------------------------------------------------------- */

/* mt: the stack index of the money metatable, 0: look it up. */
void ps_money_push_mt(lua_State *L, int64_t cents, int mt)
{
    ps_money *m = (ps_money *)lua_newuserdata(L, sizeof *m);

    m->cents = cents;
    if (mt != 0)
        lua_pushvalue(L, mt);
    else
        luaL_getmetatable(L, PS_MONEY_MT);
    lua_setmetatable(L, -2);
}

void ps_money_push(lua_State *L, int64_t cents)
{
    ps_money_push_mt(L, cents, 0);
}

static ps_money *to_money(lua_State *L, int idx)
{
    return (ps_money *)luaL_testudata(L, idx, PS_MONEY_MT);
}

static int64_t check_money(lua_State *L, int idx)
{
    ps_money *m = to_money(L, idx);

    if (m == NULL)
        luaL_argerror(L, idx, lua_pushfstring(L, "money value expected, got %s",
                                              luaL_typename(L, idx)));
    return m->cents;
}

/* An integer argument within +/-(2^53 - 1): ratios, counts, factors. */
static int64_t check_integer(lua_State *L, int idx, const char *what)
{
    int64_t v = 0;
    int negzero;

    if (!ps_tocents(L, idx, &v, &negzero))
        luaL_argerror(L, idx, lua_pushfstring(L, "%s must be an integer within +/-(2^53-1), got %s",
                                              what, lua_type(L, idx) == LUA_TNUMBER
                                                  ? lua_tostring(L, idx) : luaL_typename(L, idx)));
    return v;
}

static ps_rounding check_mode(lua_State *L, int idx, ps_rounding dflt)
{
    int mode;

    if (lua_isnoneornil(L, idx))
        return dflt;
    if (lua_type(L, idx) != LUA_TSTRING)
        luaL_argerror(L, idx, "rounding mode name expected");
    mode = ps_rounding_from_name(lua_tostring(L, idx));
    if (mode < 0)
        luaL_argerror(L, idx, lua_pushfstring(L,
            "unknown rounding mode '%s' (half_even, half_up, half_down, up, down, ceil, floor)",
            lua_tostring(L, idx)));
    return (ps_rounding)mode;
}

/* Push a result, or raise naming the operation. */
static int push_result(lua_State *L, const char *op, ps_money_status st, int64_t v)
{
    if (st != PS_MONEY_OK)
        return luaL_error(L, "proxyshard.money: %s: %s", op, ps_money_strerror(st));
    ps_money_push(L, v);
    return 1;
}

/* ---- constructors ----------------------------------------------------- */

static int money_cents(lua_State *L)
{
    int64_t v = 0;
    int negzero;

    if (!ps_tocents(L, 1, &v, &negzero))
        return luaL_argerror(L, 1, lua_pushfstring(L,
            "integral number of cents within +/-(2^53-1) expected, got %s",
            lua_type(L, 1) == LUA_TNUMBER ? lua_tostring(L, 1) : luaL_typename(L, 1)));
    ps_money_push(L, v);
    return 1;
}

/* Like cents, for data: nil, message instead of raising; -0.0 refused. */
static int money_from_cents(lua_State *L)
{
    int64_t v = 0;
    int negzero;

    if (!ps_tocents(L, 1, &v, &negzero) || negzero) {
        lua_pushnil(L);
        lua_pushstring(L, negzero ? "negative zero is not an amount of cents"
                                  : "not an integral number of cents within +/-(2^53-1)");
        return 2;
    }
    ps_money_push(L, v);
    return 1;
}

static int money_parse(lua_State *L)
{
    size_t len;
    const char *text;
    ps_rounding mode;
    ps_money_status st;
    int64_t cents = 0;

    if (lua_type(L, 1) != LUA_TSTRING)
        return luaL_argerror(L, 1, lua_pushfstring(L, "string expected, got %s",
                                                   luaL_typename(L, 1)));
    text = lua_tolstring(L, 1, &len);
    mode = check_mode(L, 2, PS_ROUND_NONE);
    st = ps_money_parse(text, len, mode, &cents);
    if (st != PS_MONEY_OK) {
        lua_pushnil(L);
        /* %s stops at a NUL byte; the reason is what matters */
        lua_pushfstring(L, "%s: \"%s\"", ps_money_strerror(st), len > 64 ? "(long text)" : text);
        return 2;
    }
    ps_money_push(L, cents);
    return 1;
}

/* Scratch arrays as userdata: collected even when an argument check
 * raises half-way. */
static int64_t *scratch(lua_State *L, size_t n)
{
    return (int64_t *)lua_newuserdata(L, (n ? n : 1) * sizeof(int64_t));
}

#define MAX_PARTS 1000000

static int money_sum(lua_State *L)
{
    size_t i, n;
    int64_t total = 0, *amounts;

    luaL_checktype(L, 1, LUA_TTABLE);
    n = lua_rawlen(L, 1);
    amounts = scratch(L, n);
    for (i = 0; i < n; i++) {
        ps_money *m;
        lua_rawgeti(L, 1, (int)(i + 1));
        m = to_money(L, -1);
        if (m == NULL)
            return luaL_argerror(L, 1, lua_pushfstring(L, "item %d is a %s, not a money value",
                                                       (int)(i + 1), luaL_typename(L, -1)));
        amounts[i] = m->cents;
        lua_pop(L, 1);
    }
    {
        ps_money_status st = ps_money_sum(amounts, n, &total);
        return push_result(L, "sum", st, total);
    }
}

static int money_is(lua_State *L)
{
    lua_pushboolean(L, to_money(L, 1) != NULL);
    return 1;
}

/* ---- operators -------------------------------------------------------- */

static int money_add(lua_State *L)
{
    int64_t r = 0;
    ps_money_status st = ps_money_add(check_money(L, 1), check_money(L, 2), &r);
    return push_result(L, "+", st, r);
}

static int money_sub(lua_State *L)
{
    int64_t r = 0;
    ps_money_status st = ps_money_sub(check_money(L, 1), check_money(L, 2), &r);
    return push_result(L, "-", st, r);
}

static int money_unm(lua_State *L)
{
    ps_money_push(L, -check_money(L, 1)); /* the range is symmetric */
    return 1;
}

/* money * integer, in either order. */
static int money_mul(lua_State *L)
{
    int mi = to_money(L, 1) != NULL ? 1 : 2, ni = 3 - mi;
    int64_t r = 0;
    ps_money_status st;

    if (to_money(L, ni) != NULL)
        return luaL_error(L, "proxyshard.money: money can only be multiplied by an integer, "
                             "not by money");
    st = ps_money_mul(check_money(L, mi), check_integer(L, ni, "the factor"), &r);
    return push_result(L, "*", st, r);
}

static int money_no_division(lua_State *L)
{
    return luaL_error(L, "proxyshard.money: no division of money; "
                         "use m:allocate{...}, m:split(n) or m:percent(p)");
}

static int money_eq(lua_State *L)
{
    ps_money *a = to_money(L, 1), *b = to_money(L, 2);

    lua_pushboolean(L, a != NULL && b != NULL && a->cents == b->cents);
    return 1;
}

static int money_lt(lua_State *L)
{
    lua_pushboolean(L, check_money(L, 1) < check_money(L, 2));
    return 1;
}

static int money_le(lua_State *L)
{
    lua_pushboolean(L, check_money(L, 1) <= check_money(L, 2));
    return 1;
}

/* ---- text ------------------------------------------------------------- */

static void push_formatted(lua_State *L, int64_t cents, const ps_money_style *style)
{
    char buf[PS_MONEY_TEXT_MAX];
    size_t len = ps_money_format(cents, style, buf);

    lua_pushlstring(L, buf, len);
}

static const ps_money_style dollars = { "$", ".", ",", 0 };
static const ps_money_style plain = { "", ".", "", 0 };

static int money_tostring(lua_State *L)
{
    push_formatted(L, check_money(L, 1), &dollars);
    return 1;
}

static int money_to_decimal(lua_State *L)
{
    push_formatted(L, check_money(L, 1), &plain);
    return 1;
}

/* A string option of format{} no longer than max bytes. */
static const char *style_field(lua_State *L, const char *name, const char *dflt, size_t max)
{
    const char *v;
    size_t len;

    lua_getfield(L, 2, name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return dflt;
    }
    if (lua_type(L, -1) != LUA_TSTRING)
        luaL_argerror(L, 2, lua_pushfstring(L, "%s must be a string", name));
    v = lua_tolstring(L, -1, &len);
    if (len > max || strlen(v) != len)
        luaL_argerror(L, 2, lua_pushfstring(L, "%s must be at most %d bytes, without NUL",
                                            name, (int)max));
    return v; /* kept alive by the options table */
}

static int money_format(lua_State *L)
{
    int64_t cents = check_money(L, 1);
    ps_money_style style;

    if (lua_isnoneornil(L, 2)) {
        push_formatted(L, cents, &dollars);
        return 1;
    }
    luaL_checktype(L, 2, LUA_TTABLE);
    style.symbol = style_field(L, "symbol", "$", 16);
    style.decimal = style_field(L, "decimal", ".", 8);
    style.thousands = style_field(L, "thousands", ",", 8);
    lua_getfield(L, 2, "symbol_after");
    style.symbol_after = lua_toboolean(L, -1);
    lua_pop(L, 1);
    push_formatted(L, cents, &style);
    return 1;
}

/* "Total: " .. m */
static int money_concat(lua_State *L)
{
    int i;

    for (i = 1; i <= 2; i++) {
        ps_money *m = to_money(L, i);
        if (m != NULL)
            push_formatted(L, m->cents, &dollars);
        else if (lua_type(L, i) == LUA_TSTRING || lua_type(L, i) == LUA_TNUMBER)
            lua_pushvalue(L, i);
        else
            return luaL_error(L, "attempt to concatenate a %s value", luaL_typename(L, i));
    }
    lua_concat(L, 2);
    return 1;
}

/* ---- splitting and percentages ----------------------------------------- */

static void push_parts(lua_State *L, const int64_t *parts, size_t n)
{
    size_t i;

    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        ps_money_push(L, parts[i]);
        lua_rawseti(L, -2, (int)(i + 1));
    }
}

static int money_allocate(lua_State *L)
{
    int64_t cents = check_money(L, 1), *ratios, *parts;
    size_t n, i;
    ps_money_status st;

    luaL_checktype(L, 2, LUA_TTABLE);
    n = lua_rawlen(L, 2);
    if (n == 0 || n > MAX_PARTS)
        return luaL_argerror(L, 2, "a list of 1 to 1000000 ratios expected");
    ratios = scratch(L, n);
    parts = scratch(L, n);
    for (i = 0; i < n; i++) {
        int negzero;
        lua_rawgeti(L, 2, (int)(i + 1));
        if (!ps_tocents(L, -1, &ratios[i], &negzero) || ratios[i] < 0)
            return luaL_argerror(L, 2, lua_pushfstring(L,
                "ratio %d must be a non-negative integer up to 2^53-1, got %s", (int)(i + 1),
                lua_type(L, -1) == LUA_TNUMBER ? lua_tostring(L, -1) : luaL_typename(L, -1)));
        lua_pop(L, 1);
    }
    st = ps_money_allocate(cents, ratios, n, parts);
    if (st != PS_MONEY_OK)
        return luaL_argerror(L, 2, "at least one ratio must be above zero");
    push_parts(L, parts, n);
    return 1;
}

static int money_split(lua_State *L)
{
    int64_t cents = check_money(L, 1), count = check_integer(L, 2, "the count"), *ratios, *parts;
    size_t i, n;

    if (count < 1 || count > MAX_PARTS)
        return luaL_argerror(L, 2, "the count must be from 1 to 1000000");
    n = (size_t)count;
    ratios = scratch(L, n);
    parts = scratch(L, n);
    for (i = 0; i < n; i++)
        ratios[i] = 1;
    ps_money_allocate(cents, ratios, n, parts); /* cannot fail: ratios are 1 */
    push_parts(L, parts, n);
    return 1;
}

/* m:percent(p [, mode]): m * p / 100, p an integer or a decimal string. */
static int money_percent(lua_State *L)
{
    int64_t cents = check_money(L, 1), num = 0, den = 1, r = 0;
    ps_rounding mode = check_mode(L, 3, PS_ROUND_HALF_EVEN);
    ps_money_status st;

    if (lua_type(L, 2) == LUA_TSTRING) {
        size_t len;
        const char *text = lua_tolstring(L, 2, &len);
        if (ps_decimal_parse(text, len, &num, &den) != PS_MONEY_OK)
            return luaL_argerror(L, 2, lua_pushfstring(L,
                "percentage must be an integer or a decimal string (at most 16 decimals), got \"%s\"",
                text));
    } else {
        num = check_integer(L, 2, "the percentage");
    }
    st = ps_money_muldiv(cents, num, den * 100, mode, &r); /* den <= 10^16 */
    return push_result(L, "percent", st, r);
}

/* ---- fields and registration ------------------------------------------ */

/* m.cents, or a method (the methods table is upvalue 1). */
static int money_index(lua_State *L)
{
    int64_t cents = check_money(L, 1);

    if (lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "cents") == 0) {
        ps_pushcents(L, cents);
        return 1;
    }
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
    return 1;
}

static int money_newindex(lua_State *L)
{
    return luaL_error(L, "proxyshard.money: money values are immutable");
}

static const luaL_Reg money_functions[] = {
    { "cents", money_cents },
    { "from_cents", money_from_cents },
    { "parse", money_parse },
    { "sum", money_sum },
    { "is", money_is },
    { NULL, NULL }
};

static const luaL_Reg money_methods[] = {
    { "allocate", money_allocate },
    { "split", money_split },
    { "percent", money_percent },
    { "to_decimal", money_to_decimal },
    { "format", money_format },
    { NULL, NULL }
};

static const luaL_Reg money_meta[] = {
    { "__add", money_add },
    { "__sub", money_sub },
    { "__unm", money_unm },
    { "__mul", money_mul },
    { "__div", money_no_division },
    { "__idiv", money_no_division },
    { "__mod", money_no_division },
    { "__eq", money_eq },
    { "__lt", money_lt },
    { "__le", money_le },
    { "__tostring", money_tostring },
    { "__concat", money_concat },
    { "__newindex", money_newindex },
    { NULL, NULL }
};

void ps_money_open(lua_State *L)
{
    int i;

    if (luaL_newmetatable(L, PS_MONEY_MT)) {
        luaL_setfuncs(L, money_meta, 0);
        luaL_newlib(L, money_methods);
        lua_pushcclosure(L, money_index, 1);
        lua_setfield(L, -2, "__index");
        lua_pushliteral(L, PS_MONEY_MT);
        lua_setfield(L, -2, "__name");
    }
    lua_pop(L, 1);

    luaL_newlib(L, money_functions);
    ps_pushcents(L, PS_MONEY_MAX);
    lua_setfield(L, -2, "MAX_CENTS");
    lua_createtable(L, 7, 0);
    for (i = PS_ROUND_HALF_EVEN; i <= PS_ROUND_FLOOR; i++) {
        lua_pushstring(L, ps_rounding_name((ps_rounding)i));
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "ROUNDING_MODES");
}
