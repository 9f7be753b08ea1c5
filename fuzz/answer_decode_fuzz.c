/*
 * answer_decode_fuzz.c - libFuzzer harness for the shape-directed JSON
 * decoder of csrc/answer.c (core.decode), linked with it and Lua 5.4 alone
 * (no libcurl). scripts/fuzz.sh builds it with ASan and UBSan and runs it
 * for a bounded time.
 *
 * One Lua state and three compiled shapes live for the whole run: an
 * answer shape that has every kind (the order answer of
 * lua/proxyshard/shapes.lua, with a money, a list of strings and required
 * fields), a top-level list, and one integer/money/price field for the
 * numbers. For every input (an exact-size copy: ASan sees any read past the
 * length) it checks:
 *   - the result is a value or nil, path, message (a string each);
 *   - an accepted value fits the shape (checked again in Lua: every key a
 *     field of the shape, integers within +/-(2^53 - 1) of Lua's integer
 *     subtype, prices >= 0, strings valid UTF-8 by utf8.len, lists proper
 *     sequences, required fields there);
 *   - written back as JSON and decoded again, it gives the same JSON;
 *   - the depth bound only ever adds a refusal: with max_depth 256 the
 *     answer is the same as with 32, unless that was "nested deeper";
 *   - the bytes as a number ({"n": <bytes>}) get the verdict and value of
 *     a second, independent reading of the JSON number grammar and of the
 *     exact decimal value (by the decimal point's position, not by
 *     trailing zeros as csrc/answer.c does).
 * A broken promise prints what happened and aborts (a crash for libFuzzer).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "answer.h"

int ps_answer_shape(lua_State *L);

/* The shapes, a checker and a writer, in Lua. */
static const char harness_lua[] =
    "local addon_line = { addon_key = 'string', catalog_id = 'integer', qty = 'integer',\n"
    "  price_per_unit = 'price', pending = { object = { action = 'string', next_qty = 'integer' } },\n"
    "  required = { 'addon_key' } }\n"
    "local order = { order_id = 'integer', product_name = 'string', quantity = 'integer',\n"
    "  price_paid = 'price', addons_price_paid = 'price', addons = { list = addon_line },\n"
    "  status = 'string', auto_renewal = 'boolean', tag = 'string', cycles = { list = 'string' },\n"
    "  balance = 'money', counts = { list = 'integer' }, required = { 'order_id', 'price_paid' } }\n"
    "local answer = { success = 'boolean', message = 'string', order = { object = order },\n"
    "  required = { 'order' } }\n"
    "local list = { list = addon_line }\n"
    "local number = { n = 'integer', m = 'money', p = 'price' }\n"
    "local MAX = 9007199254740991\n"
    "local function check(v, kind)\n"
    "  if kind == 'string' then assert(type(v) == 'string' and utf8.len(v), 'a bad string')\n"
    "  elseif kind == 'boolean' then assert(type(v) == 'boolean', 'not a boolean')\n"
    "  elseif type(kind) == 'string' then\n"
    "    assert(math.type(v) == 'integer' and v >= -MAX and v <= MAX, 'a bad integer')\n"
    "    assert(kind ~= 'price' or v >= 0, 'a negative price')\n"
    "  elseif kind.list then\n"
    "    assert(type(v) == 'table' and getmetatable(v) == nil, 'not a table')\n"
    "    local n, item = 0, kind.list\n"
    "    if type(item) == 'table' then item = { object = item } end\n"
    "    for _ in pairs(v) do n = n + 1 end\n"
    "    assert(n == #v, 'not a sequence')\n"
    "    for i = 1, n do check(v[i], item) end\n"
    "  else\n"
    "    local shape = kind.object\n"
    "    assert(type(v) == 'table' and getmetatable(v) == nil, 'not a table')\n"
    "    for k, x in pairs(v) do\n"
    "      assert(type(k) == 'string' and k ~= 'required' and shape[k], 'a key not in the shape')\n"
    "      check(x, shape[k])\n"
    "    end\n"
    "    for _, r in ipairs(shape.required or {}) do assert(v[r] ~= nil, 'a required field absent') end\n"
    "  end\n"
    "end\n"
    "local function str(s)\n"
    "  return '\"' .. s:gsub('[%c\"\\\\]', function(c) return ('\\\\u%04x'):format(c:byte()) end) .. '\"'\n"
    "end\n"
    "local function write(v, kind, out)\n"
    "  if kind == 'string' then out[#out + 1] = str(v)\n"
    "  elseif type(kind) == 'string' then out[#out + 1] = tostring(v)\n"
    "  elseif kind.list then\n"
    "    local item = type(kind.list) == 'table' and { object = kind.list } or kind.list\n"
    "    out[#out + 1] = '['\n"
    "    for i = 1, #v do\n"
    "      if i > 1 then out[#out + 1] = ',' end\n"
    "      write(v[i], item, out)\n"
    "    end\n"
    "    out[#out + 1] = ']'\n"
    "  else\n"
    "    local keys = {}\n"
    "    for k in pairs(v) do keys[#keys + 1] = k end\n"
    "    table.sort(keys)\n"
    "    out[#out + 1] = '{'\n"
    "    for i, k in ipairs(keys) do\n"
    "      if i > 1 then out[#out + 1] = ',' end\n"
    "      out[#out + 1] = str(k) .. ':'\n"
    "      write(v[k], kind.object[k], out)\n"
    "    end\n"
    "    out[#out + 1] = '}'\n"
    "  end\n"
    "  return out\n"
    "end\n"
    "local kinds = { answer = { object = answer }, list = list }\n"
    "local function verify(v, which)\n"
    "  check(v, kinds[which])\n"
    "  return table.concat(write(v, kinds[which], {}))\n"
    "end\n"
    "return answer, list, number, verify\n";

static lua_State *L;
static const ps_shape *shape_answer, *shape_list, *shape_number;
static int verify_ref;

static void fail(const char *what, const char *detail, const uint8_t *data, size_t size)
{
    size_t i;

    fprintf(stderr, "answer_decode_fuzz: %s (%s) for input \"", what, detail ? detail : "");
    for (i = 0; i < size && i < 300; i++) {
        if (data[i] >= 0x20 && data[i] < 0x7f && data[i] != '"' && data[i] != '\\')
            fputc(data[i], stderr);
        else
            fprintf(stderr, "\\x%02x", data[i]);
    }
    fprintf(stderr, "\"%s\n", size > 300 ? "..." : "");
    abort();
}

static const ps_shape *compile(int idx)
{
    const ps_shape *s;

    lua_pushcfunction(L, ps_answer_shape);
    lua_pushvalue(L, idx);
    if (lua_pcall(L, 1, 1, 0) != 0) {
        fprintf(stderr, "answer_decode_fuzz: core.shape: %s\n", lua_tostring(L, -1));
        abort();
    }
    s = ps_answer_toshape(L, -1);
    if (s == NULL)
        abort();
    luaL_ref(L, LUA_REGISTRYINDEX); /* kept for the whole run */
    return s;
}

static void init(void)
{
    L = luaL_newstate();
    if (L == NULL)
        abort();
    luaL_openlibs(L);
    if (luaL_loadbuffer(L, harness_lua, sizeof harness_lua - 1, "=harness") != 0
        || lua_pcall(L, 0, 4, 0) != 0) {
        fprintf(stderr, "answer_decode_fuzz: %s\n", lua_tostring(L, -1));
        abort();
    }
    verify_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    shape_answer = compile(1);
    shape_list = compile(2);
    shape_number = compile(3);
    lua_settop(L, 0);
}

/* ps_answer_read under lua_pcall (a memory error is a Lua error). */
typedef struct {
    const ps_shape *shape;
    const char *text;
    size_t len;
    int depth;
} read_args;

static int read_protected(lua_State *Ls)
{
    const read_args *a = (const read_args *)lua_touserdata(Ls, 1);

    lua_settop(Ls, 0);
    return ps_answer_read(Ls, a->shape, a->text, a->len, a->depth, 0, 0);
}

/* Decodes; leaves 1 (value) or 3 (nil, path, message) values on the stack
 * and returns their number. */
static int decode(const ps_shape *s, const char *text, size_t len, int depth,
                  const uint8_t *data, size_t size)
{
    read_args a;
    int base = lua_gettop(L), n;

    a.shape = s;
    a.text = text;
    a.len = len;
    a.depth = depth;
    lua_pushcfunction(L, read_protected);
    lua_pushlightuserdata(L, &a);
    if (lua_pcall(L, 1, LUA_MULTRET, 0) != 0)
        fail("decode raised", lua_tostring(L, -1), data, size);
    n = lua_gettop(L) - base;
    if (n == 1) {
        if (lua_type(L, -1) != LUA_TTABLE)
            fail("an accepted value is not a table", luaL_typename(L, -1), data, size);
    } else if (n == 3) {
        if (!lua_isnil(L, -3) || lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
            fail("a refusal is not nil, path, message", NULL, data, size);
        if (lua_rawlen(L, -1) == 0)
            fail("a refusal without a message", NULL, data, size);
    } else {
        fail("decode returned a wrong number of values", NULL, data, size);
    }
    return n;
}

/* The value on top checked against its shape and written as JSON: pushes
 * the JSON (the value stays below it). */
static void verify(const char *which, const uint8_t *data, size_t size)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, verify_ref);
    lua_pushvalue(L, -2);
    lua_pushstring(L, which);
    if (lua_pcall(L, 2, 1, 0) != 0)
        fail("an accepted value does not fit its shape", lua_tostring(L, -1), data, size);
}

static void fuzz_shape(const ps_shape *s, const char *which, const char *text, const uint8_t *data,
                       size_t size)
{
    int base = lua_gettop(L);
    int n = decode(s, text, size, 32, data, size);
    int m;

    if (n == 1) {
        size_t len;
        const char *json;
        verify(which, data, size);
        json = lua_tolstring(L, -1, &len);
        /* written back and read again: the same */
        if (decode(s, json, len, 32, data, size) != 1)
            fail("a value written back is refused", lua_tostring(L, -1), data, size);
        verify(which, data, size);
        if (!lua_rawequal(L, -1, -3))
            fail("a value written back reads differently", lua_tostring(L, -1), data, size);
        lua_settop(L, base + 2);
        /* a higher bound accepts it too, as the same */
        if (decode(s, text, size, PS_ANSWER_DEPTH_MAX, data, size) != 1)
            fail("a higher max_depth refuses what 32 accepts", lua_tostring(L, -1), data, size);
        verify(which, data, size);
        if (!lua_rawequal(L, -1, base + 2))
            fail("a higher max_depth reads differently", lua_tostring(L, -1), data, size);
    } else if (strncmp(lua_tostring(L, -1), "nested deeper", 13) != 0) {
        m = decode(s, text, size, PS_ANSWER_DEPTH_MAX, data, size);
        if (m != 3 || !lua_rawequal(L, -1, -4) || !lua_rawequal(L, -2, -5))
            fail("a higher max_depth changes a refusal", lua_tostring(L, -4), data, size);
    }
    lua_settop(L, base);
}

/* ---- numbers: a second reading ---- */

enum { REF_SYNTAX = -1, REF_OK, REF_FRACTION, REF_RANGE, REF_NEGZERO };

/*
 * The JSON number grammar, and the exact value: the digits without the
 * point, the point moved by the exponent to `point` (digits before it);
 * an integer when every digit after the point is 0, and then the digits
 * before it from the first that is not 0, with zeros after the last digit.
 */
static int reference_number(const char *s, size_t len, int64_t *out)
{
    size_t i = 0, a, b, c, e, ndig, k, first;
    int neg = 0, eneg = 0;
    long long exp = 0, point;
    uint64_t v = 0;

    if (i < len && s[i] == '-') {
        neg = 1;
        i++;
    }
    if (i >= len || s[i] < '0' || s[i] > '9')
        return REF_SYNTAX;
    if (s[i] == '0' && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '9')
        return REF_SYNTAX;
    a = i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    b = c = e = i;
    if (i < len && s[i] == '.') {
        c = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        e = i;
        if (c == e)
            return REF_SYNTAX;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t n = 0;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, n++)
            if (exp < 1000000000LL)
                exp = exp * 10 + (s[i] - '0');
        if (n == 0)
            return REF_SYNTAX;
    }
    if (i != len)
        return REF_SYNTAX;
    ndig = (b - a) + (e - c);
#define DG(k) ((k) < b - a ? s[a + (k)] : s[c + (k) - (b - a)])
    for (first = 0; first < ndig && DG(first) == '0'; first++)
        ;
    if (first == ndig) {
        *out = 0;
        return neg ? REF_NEGZERO : REF_OK;
    }
    point = (long long)(b - a) + (eneg ? -exp : exp);
    for (k = point > 0 ? (size_t)point : 0; k < ndig; k++)
        if (DG(k) != '0')
            return REF_FRACTION;
    /* every digit from `point` on is 0 and one before it is not */
    if (point - (long long)first > 16)
        return REF_RANGE;
    for (k = first; (long long)k < point; k++)
        v = v * 10 + (uint64_t)(k < ndig ? DG(k) - '0' : 0);
#undef DG
    if (v > UINT64_C(9007199254740991))
        return REF_RANGE;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return REF_OK;
}

static int is_ws(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* {"n":<bytes>}, {"m":...}, {"p":...}: when the bytes are one token of
 * number characters (whitespace around it), the decoder's verdict and
 * value are the reference's. */
static void fuzz_number(const uint8_t *data, size_t size)
{
    static const char *const fields[] = { "n", "m", "p" };
    static const char *const errs[] = { "", "not an integer", "out of range", "negative zero" };
    const char *tok = (const char *)data;
    size_t tlen = size, k;
    char *text;
    int64_t want = 0;
    int ref, base = lua_gettop(L);

    while (tlen > 0 && is_ws((unsigned char)tok[0])) {
        tok++;
        tlen--;
    }
    while (tlen > 0 && is_ws((unsigned char)tok[tlen - 1]))
        tlen--;
    if (tlen == 0)
        return;
    for (k = 0; k < tlen; k++)
        if (strchr("0123456789+-.eE", tok[k]) == NULL || tok[k] == '\0')
            return;
    ref = reference_number(tok, tlen, &want);
    text = (char *)malloc(size + 6);
    if (text == NULL)
        return;
    for (k = 0; k < 3; k++) {
        int n;
        memcpy(text, "{\"", 2);
        text[2] = fields[k][0];
        memcpy(text + 3, "\":", 2);
        memcpy(text + 5, data, size);
        text[5 + size] = '}';
        n = decode(shape_number, text, size + 6, 32, data, size);
        if (ref == REF_SYNTAX) {
            /* refused; not always as invalid JSON: a number token read
             * before the bad byte may be refused first ("-0-1") */
            if (n != 3)
                fail("a number the reference calls invalid JSON is accepted", NULL, data, size);
        } else if (ref == REF_OK && !(k == 2 && want < 0)) {
            if (n != 1)
                fail("a number the reference accepts is refused", lua_tostring(L, -1), data, size);
            lua_getfield(L, -1, fields[k]);
            if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) != want)
                fail("a number reads as another value", lua_tostring(L, -1), data, size);
        } else {
            const char *msg;
            const char *why = ref == REF_OK ? "a negative price" : errs[ref];
            if (n != 3)
                fail("a number the reference refuses is accepted", why, data, size);
            msg = lua_tostring(L, -1);
            if (strstr(msg, why) == NULL || strcmp(lua_tostring(L, -2), fields[k]) != 0)
                fail("a number refused for another reason", msg, data, size);
        }
        lua_settop(L, base);
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy: ASan sees any read past the length. */
    char *text = (char *)malloc(size ? size : 1);

    if (L == NULL)
        init();
    if (text == NULL)
        return 0;
    if (size)
        memcpy(text, data, size);
    fuzz_shape(shape_answer, "answer", text, data, size);
    fuzz_shape(shape_list, "list", text, data, size);
    fuzz_number(data, size);
    free(text);
    lua_settop(L, 0);
    return 0;
}
