/*
 * answer.c - JSON answers read straight into Lua values, directed by a
 * shape (lua/proxyshard/shapes.lua's notation):
 *   core.shape(t)                       compiles a shape table into a
 *                                       "proxyshard.core.shape" userdata
 *   core.decode(text, shape [, depth [, array_mt [, money]]])
 *                                       the value, or nil, path, message;
 *                                       lists get array_mt as metatable
 *                                       (proxyshard.wire.json's mark), and
 *                                       with money amounts are money values
 *
 * A shape is a table of fields, each a type name ("integer", "money",
 * "price", "string", "boolean"), { object = shape } or { list = shape }
 * (a list of objects, or of a type name: { list = "string" }), and
 * `required = { names }`. A top shape whose one key is `list` is an answer
 * that is a bare JSON array (as convert.answer has it). A malformed shape
 * is a programmer's error and raises.
 *
 * What decode reads (docs: the header of spec/answer_decode_spec.lua):
 *   - numbers from their digits, never through a double: accepted where
 *     the exact decimal value is an integer within +/-(2^53 - 1) (60, 60.0,
 *     6.0e1, 6000e-2); refused with "not an integer" (60.5,
 *     60.000000000000001, 1e-400), "out of range" (9007199254740992, 1e400)
 *     or "negative zero" (-0, -0.0: wire/integer.lua refuses it too).
 *     "money" and "price" give integer cents; "price" refuses negatives;
 *   - strings with their escapes decoded (\uXXXX, surrogate pairs as one
 *     character), raw bytes valid UTF-8 (no overlong form, no surrogate,
 *     nothing above U+10FFFF), no control character below 0x20;
 *   - a kind is a JSON type: an object kind takes an object (or an empty
 *     array, as a server serialising maps writes an empty one), a list
 *     kind an array (or an empty object);
 *   - null is absent; a field the shape does not have is only checked as
 *     JSON (no Lua value is made for it); a required field absent is
 *     refused;
 *   - a key given twice: each value is checked as it comes, the last one
 *     is kept (a last null removes the field), as lua-cjson keeps the last;
 *   - one JSON value, whitespace around it, nested at most max_depth deep
 *     (default 32, skipped values included);
 *   - the first problem in the text's order is the one reported; its path
 *     is like "order.addons[2].qty" (list items 1-based), "" for the top.
 *
 * Memory: nothing is allocated outside Lua. The decoder's state lives on
 * the C stack, values on the Lua stack, strings with escapes go through a
 * luaL_Buffer, the rest is pushed straight from the text; a shape is one
 * userdata. A Lua error (out of memory) leaks nothing. The recursion is
 * one C call per nesting level, bounded by max_depth <= PS_ANSWER_DEPTH_MAX.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "answer.h"

/* ---- compiled shapes ---------------------------------------------------- */

enum { K_INTEGER, K_MONEY, K_PRICE, K_STRING, K_BOOLEAN, K_OBJECT, K_LIST };

static const char *const kind_names[] = { "integer", "money", "price", "string", "boolean", NULL };

typedef struct {
    uint32_t kind;
    uint32_t first;             /* object: its first field; list: the item's node */
    uint32_t count;             /* object: its number of fields */
    uint32_t req;               /* object: its first entry in required[] */
    uint32_t nreq;              /* object: its number of required fields */
} ps_node;

typedef struct {
    const char *name;           /* in the shape's block, NUL-terminated */
    uint32_t len;
    uint32_t node;
} ps_field;

/* One userdata: this header, then fields, nodes, required, names. The
 * pointers point into the same block (a userdata never moves). An
 * object's fields are sorted by name (field_cmp) for a binary search. */
struct ps_shape {
    ps_field *fields;
    ps_node *nodes;
    uint32_t *required;         /* field indexes, in the shape's order */
    char *names;
    uint32_t root;
    uint32_t nfields, nnodes, nreq;
    size_t names_size;
};

/* Two passes over the shape table: the first counts (s == NULL) and
 * checks, the second fills the block made to the first one's counts. Both
 * walk the tables the same way (lua_next on unchanged tables), so they
 * count the same. */
typedef struct {
    ps_shape *s;
    uint32_t nfields, nnodes, nreq;
    size_t names_size;
    int memo;                   /* stack index: object shape table -> node */
    int visiting;               /* stack index: the object shapes being compiled */
} compiler;

static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int r = memcmp(a, b, alen < blen ? alen : blen);

    if (r != 0)
        return r;
    return (alen > blen) - (alen < blen);
}

static int field_cmp(const void *x, const void *y)
{
    const ps_field *a = (const ps_field *)x, *b = (const ps_field *)y;

    return name_cmp(a->name, a->len, b->name, b->len);
}

/* The field of object node n named name, or NULL. */
static const ps_field *find_field(const ps_shape *s, const ps_node *n, const char *name, size_t len)
{
    const ps_field *base = s->fields + n->first;
    size_t lo = 0, hi = n->count;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = name_cmp(name, len, base[mid].name, base[mid].len);
        if (r == 0)
            return &base[mid];
        if (r < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* t[name] without metamethods (lua_next, which lists the keys, is raw too) */
static void raw_field(lua_State *L, int idx, const char *name)
{
    lua_pushstring(L, name);
    lua_rawget(L, idx);
}

/* Is the string at idx the key `required` (not a field)? */
static int is_required_key(lua_State *L, int idx)
{
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);

    return len == 8 && memcmp(s, "required", 8) == 0;
}

static uint32_t new_node(lua_State *L, compiler *c, uint32_t kind)
{
    uint32_t i = c->nnodes;

    if (i >= INT32_MAX)
        luaL_error(L, "proxyshard.core.shape: too many fields");
    c->nnodes++;
    if (c->s != NULL) {
        ps_node *n = &c->s->nodes[i];
        n->kind = kind;
        n->first = n->count = n->req = n->nreq = 0;
    }
    return i;
}

static uint32_t compile_object(lua_State *L, compiler *c, int idx, const char *where);

/* The type name at the top of the stack as a node. */
static uint32_t compile_scalar(lua_State *L, compiler *c, const char *where)
{
    const char *name = lua_tostring(L, -1);
    uint32_t k;

    for (k = 0; kind_names[k] != NULL; k++)
        if (strcmp(name, kind_names[k]) == 0)
            return new_node(L, c, k);
    return (uint32_t)luaL_error(L, "proxyshard.core.shape: field '%s': no type '%s'", where, name);
}

/* A field's type, at the top of the stack: a type name, { object = shape }
 * or { list = shape | type name }. */
static uint32_t compile_kind(lua_State *L, compiler *c, const char *where)
{
    int idx = lua_gettop(L), keys = 0;
    uint32_t node;

    if (lua_type(L, idx) == LUA_TSTRING)
        return compile_scalar(L, c, where);
    if (lua_type(L, idx) != LUA_TTABLE)
        return (uint32_t)luaL_error(L, "proxyshard.core.shape: field '%s': a type name or a table expected, got %s",
                                    where, luaL_typename(L, idx));
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        keys++;
        lua_pop(L, 1);
    }
    raw_field(L, idx, "object");
    if (keys == 1 && lua_type(L, -1) == LUA_TTABLE) {
        node = compile_object(L, c, lua_gettop(L), where);
        lua_pop(L, 1);
        return node;
    }
    lua_pop(L, 1);
    raw_field(L, idx, "list");
    if (keys == 1 && (lua_type(L, -1) == LUA_TTABLE || lua_type(L, -1) == LUA_TSTRING)) {
        uint32_t item;
        node = new_node(L, c, K_LIST);
        item = lua_type(L, -1) == LUA_TSTRING ? compile_scalar(L, c, where)
                                               : compile_object(L, c, lua_gettop(L), where);
        if (c->s != NULL)
            c->s->nodes[node].first = item;
        lua_pop(L, 1);
        return node;
    }
    return (uint32_t)luaL_error(L, "proxyshard.core.shape: field '%s': a type table is { object = shape } "
                                "or { list = shape or type name }", where);
}

/* The object shape at idx as a node (one node per shape table: a shape
 * used in several places is compiled once). */
static uint32_t compile_object(lua_State *L, compiler *c, int idx, const char *where)
{
    uint32_t node, first, count = 0, req, nreq = 0, i = 0, k;
    int has_required = 0;

    idx = lua_absindex(L, idx);
    luaL_checkstack(L, 8, "proxyshard.core.shape: nested too deep");
    lua_pushvalue(L, idx);
    lua_rawget(L, c->memo);
    if (!lua_isnil(L, -1)) {
        node = (uint32_t)lua_tonumber(L, -1);
        lua_pop(L, 1);
        return node;
    }
    lua_pop(L, 1);
    lua_pushvalue(L, idx);
    lua_rawget(L, c->visiting);
    if (!lua_isnil(L, -1))
        luaL_error(L, "proxyshard.core.shape: field '%s': a shape that contains itself", where);
    lua_pop(L, 1);
    lua_pushvalue(L, idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, c->visiting);

    /* the keys: field names, and `required` */
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "proxyshard.core.shape: a field name must be a string, got %s",
                       luaL_typename(L, -2));
        if (is_required_key(L, -2)) {
            if (lua_type(L, -1) != LUA_TTABLE)
                luaL_error(L, "proxyshard.core.shape: `required` must be a list of field names");
            has_required = 1;
            nreq = (uint32_t)lua_rawlen(L, -1);
        } else {
            size_t len;
            const char *name = lua_tolstring(L, -2, &len);
            if (len == 0 || len > PS_ANSWER_NAME_MAX)
                luaL_error(L, "proxyshard.core.shape: field name '%s' is empty or longer than %d bytes",
                           name, PS_ANSWER_NAME_MAX);
            if (count >= INT32_MAX / 2)
                luaL_error(L, "proxyshard.core.shape: too many fields");
            count++;
        }
        lua_pop(L, 1);
    }
    if (nreq > count)
        luaL_error(L, "proxyshard.core.shape: `required` names more fields than the shape has");

    node = new_node(L, c, K_OBJECT);
    first = c->nfields;
    if (first > INT32_MAX - count)
        luaL_error(L, "proxyshard.core.shape: too many fields");
    c->nfields += count;
    req = c->nreq;
    c->nreq += nreq;
    if (c->s != NULL) {
        ps_node *n = &c->s->nodes[node];
        n->first = first;
        n->count = count;
        n->req = req;
        n->nreq = nreq;
    }

    lua_pushnil(L);
    while (lua_next(L, idx)) {
        size_t len;
        const char *name = lua_tolstring(L, -2, &len);
        if (!is_required_key(L, -2)) {
            uint32_t child = compile_kind(L, c, name);
            if (c->s != NULL) {
                ps_field *f = &c->s->fields[first + i];
                char *dst = c->s->names + c->names_size;
                memcpy(dst, name, len);
                dst[len] = '\0';
                f->name = dst;
                f->len = (uint32_t)len;
                f->node = child;
            }
            c->names_size += len + 1;
            i++;
        }
        lua_pop(L, 1);
    }
    if (c->s != NULL)
        qsort(c->s->fields + first, count, sizeof(ps_field), field_cmp);

    if (has_required) {
        raw_field(L, idx, "required");
        for (k = 0; k < nreq; k++) {
            size_t len;
            const char *name;
            lua_rawgeti(L, -1, (int)k + 1);
            if (lua_type(L, -1) != LUA_TSTRING)
                luaL_error(L, "proxyshard.core.shape: `required` must be a list of field names");
            name = lua_tolstring(L, -1, &len);
            lua_pushvalue(L, -1);
            lua_rawget(L, idx);
            if (lua_isnil(L, -1) || is_required_key(L, -2))
                luaL_error(L, "proxyshard.core.shape: required field '%s' is not in the shape", name);
            if (c->s != NULL) {
                const ps_field *f = find_field(c->s, &c->s->nodes[node], name, len);
                c->s->required[req + k] = (uint32_t)(f - c->s->fields);
            }
            lua_pop(L, 2);
        }
        lua_pop(L, 1);
    }

    lua_pushvalue(L, idx);
    lua_pushnil(L);
    lua_rawset(L, c->visiting);
    lua_pushvalue(L, idx);
    lua_pushnumber(L, (lua_Number)node);
    lua_rawset(L, c->memo);
    return node;
}

/* Compiles the shape table at idx (1) in one pass. */
static uint32_t compile_pass(lua_State *L, compiler *c)
{
    uint32_t root;
    int keys = 0;

    lua_newtable(L);
    c->memo = lua_gettop(L);
    lua_newtable(L);
    c->visiting = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        keys++;
        lua_pop(L, 1);
    }
    raw_field(L, 1, "list");
    if (keys == 1 && !lua_isnil(L, -1)) {
        /* a bare JSON array: { list = shape } */
        lua_pop(L, 1);
        lua_pushvalue(L, 1);
        root = compile_kind(L, c, "list");
    } else {
        root = compile_object(L, c, 1, "(top)");
    }
    lua_settop(L, c->memo - 1);
    return root;
}

/* ps_field holds a pointer: the header and the fields come first, aligned. */
static size_t shape_size(const compiler *c)
{
    size_t size = sizeof(ps_shape);

    if ((size_t)c->nfields > (SIZE_MAX - size) / sizeof(ps_field))
        return 0;
    size += (size_t)c->nfields * sizeof(ps_field);
    if ((size_t)c->nnodes > (SIZE_MAX - size) / sizeof(ps_node))
        return 0;
    size += (size_t)c->nnodes * sizeof(ps_node);
    if ((size_t)c->nreq > (SIZE_MAX - size) / sizeof(uint32_t))
        return 0;
    size += (size_t)c->nreq * sizeof(uint32_t);
    if (c->names_size > SIZE_MAX - size)
        return 0;
    return size + c->names_size;
}

static int shape_tostring(lua_State *L)
{
    const ps_shape *s = (const ps_shape *)luaL_checkudata(L, 1, PS_SHAPE_MT);

    lua_pushfstring(L, PS_SHAPE_MT " (%d fields): %p", (int)s->nfields, (const void *)s);
    return 1;
}

static const luaL_Reg shape_meta[] = {
    { "__tostring", shape_tostring },
    { NULL, NULL }
};

/* core.shape(t) */
int ps_answer_shape(lua_State *L)
{
    compiler count, fill;
    ps_shape *s;
    size_t size;
    char *block;

    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    memset(&count, 0, sizeof count);
    compile_pass(L, &count);
    size = shape_size(&count);
    if (size == 0)
        return luaL_error(L, "proxyshard.core.shape: too large");

    block = (char *)lua_newuserdata(L, size);
    memset(block, 0, size);
    s = (ps_shape *)block;
    s->fields = (ps_field *)(block + sizeof(ps_shape));
    s->nodes = (ps_node *)(s->fields + count.nfields);
    s->required = (uint32_t *)(s->nodes + count.nnodes);
    s->names = (char *)(s->required + count.nreq);
    s->nfields = count.nfields;
    s->nnodes = count.nnodes;
    s->nreq = count.nreq;
    s->names_size = count.names_size;

    /* the userdata at 2, the pass's tables above it */
    memset(&fill, 0, sizeof fill);
    fill.s = s;
    s->root = compile_pass(L, &fill);
    if (fill.nfields != count.nfields || fill.nnodes != count.nnodes || fill.nreq != count.nreq
        || fill.names_size != count.names_size)
        return luaL_error(L, "proxyshard.core.shape: the shape changed while it was compiled");

    /* The field names as Lua strings, by field index + 1, as the shape's
     * user value: decode pushes a key from there instead of making the
     * string again (interning it) for every field of every answer. */
    {
        uint32_t i;
        lua_createtable(L, (int)s->nfields, 0);
        for (i = 0; i < s->nfields; i++) {
            lua_pushlstring(L, s->fields[i].name, s->fields[i].len);
            lua_rawseti(L, -2, (int)i + 1);
        }
        lua_setuservalue(L, -2);
    }

    if (luaL_newmetatable(L, PS_SHAPE_MT))
        luaL_setfuncs(L, shape_meta, 0);
    lua_setmetatable(L, -2);
    return 1;
}

const ps_shape *ps_answer_toshape(lua_State *L, int idx)
{
    return (const ps_shape *)luaL_testudata(L, idx, PS_SHAPE_MT);
}

/* ---- the decoder ------------------------------------------------------ */

/* One part of the path of a refusal: a field's name or a list index. */
typedef struct {
    const char *name;           /* NULL: index */
    size_t len;
    int index;
} path_seg;

typedef struct {
    lua_State *L;
    const ps_shape *s;
    const unsigned char *start, *p, *end;
    int depth, max_depth;
    int array_mt;               /* stack index of the lists' metatable, 0: none */
    int money;                  /* amounts as money values (else integer cents) */
    int money_mt;               /* with money: stack index of the money metatable */
    int keys;                   /* stack index of the shape's field names, 0: none */
    /* the refusal: its path, innermost first, and its message */
    int nsegs;
    path_seg segs[PS_ANSWER_DEPTH_MAX + 2];
    char msg[256];
} decoder;

/* A number token: [-] int [. frac] [e exp], checked as JSON. */
typedef struct {
    const unsigned char *start, *end;
    const unsigned char *ip, *ie;   /* the integer part's digits */
    const unsigned char *fp, *fe;   /* the fraction's (none: fp == fe) */
    int neg;
    int64_t exp;                    /* clamped to +/-EXP_CLAMP */
} numtok;

#define EXP_CLAMP INT64_C(1000000000000000)

enum { NUM_OK, NUM_FRACTION, NUM_RANGE, NUM_NEGZERO };

static const char *const num_errors[] = { "", "not an integer", "out of range", "negative zero" };

#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')

/* Sets the message; returns 0, for `return refuse(...)`. */
static int refuse(decoder *d, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
    return 0;
}

/* Invalid JSON at p: the message names the byte (1-based). */
static int syntax(decoder *d, const unsigned char *at, const char *what)
{
    if (at >= d->end)
        return refuse(d, "invalid JSON: %s at the end of the text", what);
    return refuse(d, "invalid JSON at byte %lu: %s", (unsigned long)(at - d->start) + 1, what);
}

static void add_name(decoder *d, const ps_field *f)
{
    if (d->nsegs < (int)(sizeof d->segs / sizeof d->segs[0])) {
        d->segs[d->nsegs].name = f->name;
        d->segs[d->nsegs].len = f->len;
        d->nsegs++;
    }
}

static void add_index(decoder *d, int index)
{
    if (d->nsegs < (int)(sizeof d->segs / sizeof d->segs[0])) {
        d->segs[d->nsegs].name = NULL;
        d->segs[d->nsegs].index = index;
        d->nsegs++;
    }
}

static void skip_ws(decoder *d)
{
    const unsigned char *p = d->p, *end = d->end;

    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    d->p = p;
}

static int literal(decoder *d, const char *word, size_t len)
{
    if ((size_t)(d->end - d->p) < len || memcmp(d->p, word, len) != 0)
        return syntax(d, d->p, "an unknown literal");
    d->p += len;
    return 1;
}

/* ---- strings ---- */

static int hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0;
    int i;

    for (i = 0; i < 4; i++) {
        unsigned c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return 0;
    }
    *out = v;
    return 1;
}

/* 1 for the bytes a string runs over without a second look: printable
 * ASCII (0x20-0x7F) but '"' (0x22) and '\\' (0x5C). One load per byte. */
#define ROW16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
static const unsigned char plain_byte[256] = {
    ROW16(0), ROW16(0),                                 /* 0x00-0x1F */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,     /* 0x20-0x2F */
    ROW16(1), ROW16(1),                                 /* 0x30-0x4F */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,     /* 0x50-0x5F */
    ROW16(1), ROW16(1),                                 /* 0x60-0x7F */
    ROW16(0), ROW16(0), ROW16(0), ROW16(0),             /* 0x80-0xBF */
    ROW16(0), ROW16(0), ROW16(0), ROW16(0),             /* 0xC0-0xFF */
};
#undef ROW16

/* The length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n, i;
    unsigned lo = 0x80, hi = 0xBF;

    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;          /* no overlong form */
        else if (c == 0xED)
            hi = 0x9F;          /* no surrogate */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;          /* no overlong form */
        else if (c == 0xF4)
            hi = 0x8F;          /* nothing above U+10FFFF */
    } else
        return 0;
    if ((size_t)(end - p) < n)
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

/*
 * Checks the string whose opening quote is at d->p and moves past its
 * closing one. *s, *len: its bytes between the quotes; *escaped: whether
 * there is an escape in them (then unescape gives its value).
 */
static int scan_string(decoder *d, const unsigned char **s, size_t *len, int *escaped)
{
    const unsigned char *p = d->p + 1, *end = d->end;

    *s = p;
    *escaped = 0;
    for (;;) {
        unsigned c;
        /* the common case: printable ASCII */
        while (p < end && plain_byte[*p])
            p++;
        if (p >= end)
            return syntax(d, p, "an unterminated string");
        c = *p;
        if (c == '"')
            break;
        if (c < 0x20)
            return syntax(d, p, "a control character in a string");
        if (c >= 0x80) {
            size_t n = utf8_len(p, end);
            if (n == 0)
                return syntax(d, p, "invalid UTF-8 in a string");
            p += n;
            continue;
        }
        /* a backslash */
        *escaped = 1;
        if (end - p < 2)
            return syntax(d, p, "an unterminated string");
        switch (p[1]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            p += 2;
            break;
        case 'u': {
            unsigned u, lo;
            if (end - p < 6 || !hex4(p + 2, &u))
                return syntax(d, p, "a bad \\u escape");
            if (u >= 0xDC00 && u <= 0xDFFF)
                return syntax(d, p, "a lone low surrogate");
            if (u >= 0xD800 && u <= 0xDBFF) {
                if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || !hex4(p + 8, &lo)
                    || lo < 0xDC00 || lo > 0xDFFF)
                    return syntax(d, p, "a lone high surrogate");
                p += 12;
            } else {
                p += 6;
            }
            break;
        }
        default:
            return syntax(d, p, "a bad escape");
        }
    }
    *len = (size_t)(p - *s);
    d->p = p + 1;
    return 1;
}

/* Where unescape writes: a luaL_Buffer, or a fixed buffer (keys). */
typedef struct {
    luaL_Buffer *b;
    char *buf;
    size_t cap, len;
} sink;

static void emit(sink *o, const char *p, size_t n)
{
    if (o->b != NULL)
        luaL_addlstring(o->b, p, n);
    else if (o->len + n <= o->cap)
        memcpy(o->buf + o->len, p, n);
    o->len += n;
}

/* The value of a string scan_string found good. */
static void unescape(const unsigned char *p, const unsigned char *end, sink *o)
{
    while (p < end) {
        const unsigned char *run = p;
        char out[4];
        unsigned u, lo;

        while (p < end && *p != '\\')
            p++;
        if (p > run)
            emit(o, (const char *)run, (size_t)(p - run));
        if (p >= end)
            break;
        switch (p[1]) {
        case 'b': out[0] = '\b'; break;
        case 'f': out[0] = '\f'; break;
        case 'n': out[0] = '\n'; break;
        case 'r': out[0] = '\r'; break;
        case 't': out[0] = '\t'; break;
        case 'u': break;
        default: out[0] = (char)p[1]; break; /* " \ / */
        }
        if (p[1] != 'u') {
            emit(o, out, 1);
            p += 2;
            continue;
        }
        hex4(p + 2, &u);
        p += 6;
        if (u >= 0xD800 && u <= 0xDBFF) {
            hex4(p + 2, &lo);
            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            p += 6;
        }
        if (u < 0x80) {
            out[0] = (char)u;
            emit(o, out, 1);
        } else if (u < 0x800) {
            out[0] = (char)(0xC0 | (u >> 6));
            out[1] = (char)(0x80 | (u & 0x3F));
            emit(o, out, 2);
        } else if (u < 0x10000) {
            out[0] = (char)(0xE0 | (u >> 12));
            out[1] = (char)(0x80 | ((u >> 6) & 0x3F));
            out[2] = (char)(0x80 | (u & 0x3F));
            emit(o, out, 3);
        } else {
            out[0] = (char)(0xF0 | (u >> 18));
            out[1] = (char)(0x80 | ((u >> 12) & 0x3F));
            out[2] = (char)(0x80 | ((u >> 6) & 0x3F));
            out[3] = (char)(0x80 | (u & 0x3F));
            emit(o, out, 4);
        }
    }
}

static void push_string(lua_State *L, const unsigned char *s, size_t len, int escaped)
{
    luaL_Buffer b;
    sink o;

    if (!escaped) {
        lua_pushlstring(L, (const char *)s, len);
        return;
    }
    luaL_buffinit(L, &b);
    o.b = &b;
    o.buf = NULL;
    o.cap = o.len = 0;
    unescape(s, s + len, &o);
    luaL_pushresult(&b);
}

/* The field of object node n that the key (as scan_string found it)
 * names, or NULL. */
static const ps_field *key_field(const decoder *d, const ps_node *n, const unsigned char *s,
                                 size_t len, int escaped)
{
    char buf[PS_ANSWER_NAME_MAX];
    sink o;

    if (!escaped)
        return find_field(d->s, n, (const char *)s, len);
    o.b = NULL;
    o.buf = buf;
    o.cap = sizeof buf;
    o.len = 0;
    unescape(s, s + len, &o);
    if (o.len > o.cap)
        return NULL;            /* longer than any field name */
    return find_field(d->s, n, buf, o.len);
}

/* ---- numbers ---- */

/* Checks the number at d->p as JSON and moves past it. */
static int scan_number(decoder *d, numtok *t)
{
    const unsigned char *p = d->p, *end = d->end;

    t->start = p;
    t->neg = 0;
    if (p < end && *p == '-') {
        t->neg = 1;
        p++;
    }
    if (p >= end || !IS_DIGIT(*p))
        return syntax(d, p, "a digit expected in a number");
    t->ip = p;
    if (*p == '0') {
        p++;
        if (p < end && IS_DIGIT(*p))
            return syntax(d, p, "a number with a leading zero");
    } else {
        while (p < end && IS_DIGIT(*p))
            p++;
    }
    t->ie = p;
    t->fp = t->fe = p;
    if (p < end && *p == '.') {
        t->fp = ++p;
        while (p < end && IS_DIGIT(*p))
            p++;
        t->fe = p;
        if (t->fp == t->fe)
            return syntax(d, p, "a digit expected after the decimal point");
    }
    t->exp = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        int eneg = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (p >= end || !IS_DIGIT(*p))
            return syntax(d, p, "a digit expected in an exponent");
        while (p < end && IS_DIGIT(*p)) {
            if (t->exp < EXP_CLAMP)
                t->exp = t->exp * 10 + (*p - '0');
            p++;
        }
        if (eneg)
            t->exp = -t->exp;
    }
    t->end = p;
    d->p = p;
    return 1;
}

/*
 * The exact value of a number token as an integer within +/-(2^53 - 1),
 * from its digits: value = D * 10^e10, D the digits without leading and
 * trailing zeros. NUM_OK and *out, or why not.
 */
static int number_value(const numtok *t, int64_t *out)
{
    size_t ni = (size_t)(t->ie - t->ip), nf = (size_t)(t->fe - t->fp), n = ni + nf;
    size_t first = 0, last, k;
    int64_t e10;
    uint64_t v = 0;

#define DIGIT(k) ((k) < ni ? t->ip[(k)] : t->fp[(k) - ni])
    while (first < n && DIGIT(first) == '0')
        first++;
    if (first == n) {
        *out = 0;
        return t->neg ? NUM_NEGZERO : NUM_OK;
    }
    last = n - 1;
    while (DIGIT(last) == '0')
        last--;
    /* |exp| <= 10^15 and the counts are sizes of the text: no overflow */
    e10 = t->exp - (int64_t)nf + (int64_t)(n - 1 - last);
    if (e10 < 0)
        return NUM_FRACTION;    /* D has no trailing zero: a fraction remains */
    if ((int64_t)(last - first + 1) + e10 > 16)
        return NUM_RANGE;       /* 17 digits or more: >= 10^16 > 2^53 */
    for (k = first; k <= last; k++)
        v = v * 10 + (uint64_t)(DIGIT(k) - '0');
#undef DIGIT
    for (; e10 > 0; e10--)
        v *= 10;
    if (v > (uint64_t)PS_MAX_CENTS)
        return NUM_RANGE;
    *out = t->neg ? -(int64_t)v : (int64_t)v;
    return NUM_OK;
}

/* "(got ...)" for a value that is not what the shape says: its kind, or
 * its text for a number. */
static const char *got(const unsigned char *v, const numtok *t, char *buf, size_t size)
{
    switch (*v) {
    case '{': return "object";
    case '[': return "array";
    case '"': return "string";
    case 't': return "true";
    case 'f': return "false";
    case 'n': return "null";
    default:
        if (t != NULL) {
            size_t n = (size_t)(t->end - t->start);
            if (n > 40)
                snprintf(buf, size, "%.40s...", (const char *)t->start);
            else
                snprintf(buf, size, "%.*s", (int)n, (const char *)t->start);
            return buf;
        }
        return "number";
    }
}

/* ---- values ---- */

static int skip_value(decoder *d);
static int read_value(decoder *d, uint32_t node);

static int enter(decoder *d)
{
    if (d->depth >= d->max_depth)
        return refuse(d, "nested deeper than %d levels (at byte %lu)", d->max_depth,
                      (unsigned long)(d->p - d->start) + 1);
    d->depth++;
    return 1;
}

/* Checks the value at d->p as JSON, makes nothing, moves past it. */
static int skip_value(decoder *d)
{
    const unsigned char *s;
    size_t len;
    int escaped;
    numtok t;

    if (d->p >= d->end)
        return syntax(d, d->p, "a value expected");
    switch (*d->p) {
    case '{':
        if (!enter(d))
            return 0;
        d->p++;
        skip_ws(d);
        if (d->p < d->end && *d->p == '}') {
            d->p++;
            d->depth--;
            return 1;
        }
        for (;;) {
            if (d->p >= d->end || *d->p != '"')
                return syntax(d, d->p, "a field name expected");
            if (!scan_string(d, &s, &len, &escaped))
                return 0;
            skip_ws(d);
            if (d->p >= d->end || *d->p != ':')
                return syntax(d, d->p, "':' expected");
            d->p++;
            skip_ws(d);
            if (!skip_value(d))
                return 0;
            skip_ws(d);
            if (d->p < d->end && *d->p == ',') {
                d->p++;
                skip_ws(d);
                continue;
            }
            if (d->p < d->end && *d->p == '}')
                break;
            return syntax(d, d->p, "',' or '}' expected");
        }
        d->p++;
        d->depth--;
        return 1;
    case '[':
        if (!enter(d))
            return 0;
        d->p++;
        skip_ws(d);
        if (d->p < d->end && *d->p == ']') {
            d->p++;
            d->depth--;
            return 1;
        }
        for (;;) {
            if (!skip_value(d))
                return 0;
            skip_ws(d);
            if (d->p < d->end && *d->p == ',') {
                d->p++;
                skip_ws(d);
                continue;
            }
            if (d->p < d->end && *d->p == ']')
                break;
            return syntax(d, d->p, "',' or ']' expected");
        }
        d->p++;
        d->depth--;
        return 1;
    case '"':
        return scan_string(d, &s, &len, &escaped);
    case 't':
        return literal(d, "true", 4);
    case 'f':
        return literal(d, "false", 5);
    case 'n':
        return literal(d, "null", 4);
    default:
        if (*d->p == '-' || IS_DIGIT(*d->p))
            return scan_number(d, &t);
        return syntax(d, d->p, "a value expected");
    }
}

/* The required fields of object node n that the table on top lacks. */
static int check_required(decoder *d, const ps_node *n)
{
    lua_State *L = d->L;
    const ps_field *missing = NULL;
    size_t used = 0;
    uint32_t k;
    int several = 0;

    for (k = 0; k < n->nreq; k++) {
        const ps_field *f = &d->s->fields[d->s->required[n->req + k]];
        int absent;
        lua_pushlstring(L, f->name, f->len);
        lua_rawget(L, -2);
        absent = lua_isnil(L, -1);
        lua_pop(L, 1);
        if (!absent)
            continue;
        if (missing == NULL) {
            missing = f;
            used = (size_t)snprintf(d->msg, sizeof d->msg, "required field missing");
        } else {
            if (!several) {
                several = 1;
                used = (size_t)snprintf(d->msg, sizeof d->msg, "required fields missing: %s", missing->name);
            }
            if (used < sizeof d->msg)
                used += (size_t)snprintf(d->msg + used, sizeof d->msg - used, ", %s", f->name);
        }
    }
    if (missing == NULL)
        return 1;
    add_name(d, missing);
    return 0;
}

/* Pushes field f's name. */
static void push_key(decoder *d, const ps_field *f)
{
    if (d->keys)
        lua_rawgeti(d->L, d->keys, (int)(f - d->s->fields) + 1);
    else
        lua_pushlstring(d->L, f->name, f->len);
}

/* The object at d->p ('{') by object node n: pushes a table. */
static int read_object(decoder *d, const ps_node *n)
{
    lua_State *L = d->L;

    if (!enter(d))
        return 0;
    luaL_checkstack(L, 4, "proxyshard.core.decode: nested too deep");
    lua_createtable(L, 0, (int)n->count);
    d->p++;
    skip_ws(d);
    if (d->p < d->end && *d->p == '}') {
        d->p++;
    } else {
        for (;;) {
            const unsigned char *s;
            size_t len;
            int escaped;
            const ps_field *f;

            if (d->p >= d->end || *d->p != '"')
                return syntax(d, d->p, "a field name expected");
            if (!scan_string(d, &s, &len, &escaped))
                return 0;
            f = key_field(d, n, s, len, escaped);
            skip_ws(d);
            if (d->p >= d->end || *d->p != ':')
                return syntax(d, d->p, "':' expected");
            d->p++;
            skip_ws(d);
            if (f == NULL) {
                if (!skip_value(d))
                    return 0;
            } else if (d->p < d->end && *d->p == 'n') {
                /* null: absent (and no longer there if given before) */
                if (!literal(d, "null", 4)) {
                    add_name(d, f);
                    return 0;
                }
                push_key(d, f);
                lua_pushnil(L);
                lua_rawset(L, -3);
            } else {
                push_key(d, f);
                if (!read_value(d, f->node)) {
                    add_name(d, f);
                    return 0;
                }
                lua_rawset(L, -3);
            }
            skip_ws(d);
            if (d->p < d->end && *d->p == ',') {
                d->p++;
                skip_ws(d);
                continue;
            }
            if (d->p < d->end && *d->p == '}') {
                d->p++;
                break;
            }
            return syntax(d, d->p, "',' or '}' expected");
        }
    }
    d->depth--;
    return check_required(d, n);
}

/* The array at d->p ('[') by list node n: pushes a table. */
static int read_list(decoder *d, const ps_node *n)
{
    lua_State *L = d->L;
    int i = 0;

    if (!enter(d))
        return 0;
    luaL_checkstack(L, 4, "proxyshard.core.decode: nested too deep");
    lua_newtable(L);
    if (d->array_mt) {
        lua_pushvalue(L, d->array_mt);
        lua_setmetatable(L, -2);
    }
    d->p++;
    skip_ws(d);
    if (d->p < d->end && *d->p == ']') {
        d->p++;
        d->depth--;
        return 1;
    }
    for (;;) {
        if (i == INT_MAX)
            return refuse(d, "a list too long");
        i++;
        if (!read_value(d, n->first)) {
            add_index(d, i);
            return 0;
        }
        lua_rawseti(L, -2, i);
        skip_ws(d);
        if (d->p < d->end && *d->p == ',') {
            d->p++;
            skip_ws(d);
            continue;
        }
        if (d->p < d->end && *d->p == ']')
            break;
        return syntax(d, d->p, "',' or ']' expected");
    }
    d->p++;
    d->depth--;
    return 1;
}

/* At d->p an opening bracket: when only whitespace and `close` follow,
 * consumes them all and returns 1; else leaves d->p and returns 0. */
static int empty_container(decoder *d, int close)
{
    const unsigned char *q = d->p + 1;

    while (q < d->end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
        q++;
    if (q >= d->end || *q != close)
        return 0;
    d->p = q + 1;
    return 1;
}

/* A value that is not of node's kind: checked as JSON, then refused. */
static int mismatch(decoder *d, uint32_t kind)
{
    static const char *const wanted[] = {
        "not a number", "not integer cents: not a number", "not integer cents: not a number",
        "not a string", "not a boolean", "not a JSON object", "not a list"
    };
    const unsigned char *v = d->p;
    char buf[48];
    numtok t;
    int isnum = v < d->end && (*v == '-' || IS_DIGIT(*v));

    if (isnum) {
        if (!scan_number(d, &t))
            return 0;
    } else if (!skip_value(d)) {
        return 0;
    }
    return refuse(d, "%s (got %s)", wanted[kind], got(v, isnum ? &t : NULL, buf, sizeof buf));
}

/* The value at d->p by node: pushes it. */
static int read_value(decoder *d, uint32_t node)
{
    const ps_node *n = &d->s->nodes[node];
    const unsigned char *v = d->p;
    int c = v < d->end ? *v : -1;

    switch (n->kind) {
    case K_INTEGER:
    case K_MONEY:
    case K_PRICE: {
        numtok t;
        int64_t i = 0;
        int st;
        char buf[48];
        if (c != '-' && !IS_DIGIT(c))
            return c < 0 ? skip_value(d) : mismatch(d, n->kind);
        if (!scan_number(d, &t))
            return 0;
        st = number_value(&t, &i);
        if (st != NUM_OK)
            return refuse(d, "%s%s (got %s)", n->kind == K_INTEGER ? "" : "not integer cents: ",
                          num_errors[st], got(v, &t, buf, sizeof buf));
        if (n->kind == K_PRICE && i < 0)
            return refuse(d, "a negative price (got %s)", got(v, &t, buf, sizeof buf));
        if (d->money && n->kind != K_INTEGER)
            ps_money_push_mt(d->L, i, d->money_mt);
        else
            ps_pushcents(d->L, i);
        return 1;
    }
    case K_STRING: {
        const unsigned char *s;
        size_t len;
        int escaped;
        if (c != '"')
            return c < 0 ? skip_value(d) : mismatch(d, n->kind);
        if (!scan_string(d, &s, &len, &escaped))
            return 0;
        push_string(d->L, s, len, escaped);
        return 1;
    }
    case K_BOOLEAN:
        if (c == 't' && literal(d, "true", 4)) {
            lua_pushboolean(d->L, 1);
            return 1;
        }
        if (c == 'f' && literal(d, "false", 5)) {
            lua_pushboolean(d->L, 0);
            return 1;
        }
        if (c == 't' || c == 'f')
            return 0;           /* a bad literal */
        return c < 0 ? skip_value(d) : mismatch(d, n->kind);
    case K_OBJECT:
        if (c == '{')
            return read_object(d, n);
        /* an empty array for an object: what a server serialising maps
         * (PHP's arrays) writes for an empty one; lua-cjson could not tell
         * them apart either */
        if (c == '[' && d->depth > 0 && empty_container(d, ']')) {
            if (!enter(d))
                return 0;
            d->depth--;
            lua_newtable(d->L);
            return check_required(d, n);
        }
        return c < 0 ? skip_value(d) : mismatch(d, n->kind);
    default: /* K_LIST */
        if (c == '[')
            return read_list(d, n);
        if (c == '{' && d->depth > 0 && empty_container(d, '}')) {   /* and the other way round */
            if (!enter(d))
                return 0;
            d->depth--;
            lua_newtable(d->L);
            if (d->array_mt) {
                lua_pushvalue(d->L, d->array_mt);
                lua_setmetatable(d->L, -2);
            }
            return 1;
        }
        return c < 0 ? skip_value(d) : mismatch(d, n->kind);
    }
}

/* Pushes the path of the refusal: "order.addons[2].qty", "" at the top. */
static void push_path(decoder *d)
{
    luaL_Buffer b;
    int i;

    luaL_buffinit(d->L, &b);
    for (i = d->nsegs - 1; i >= 0; i--) {
        const path_seg *g = &d->segs[i];
        if (g->name != NULL) {
            if (i != d->nsegs - 1)
                luaL_addchar(&b, '.');
            luaL_addlstring(&b, g->name, g->len);
        } else {
            char buf[24];
            snprintf(buf, sizeof buf, "[%d]", g->index);
            luaL_addstring(&b, buf);
        }
    }
    luaL_pushresult(&b);
}

/* ps_answer_read, with keys: the stack index of the shape's field names
 * (its user value), 0: none. */
static int answer_read(lua_State *L, const ps_shape *shape, const char *text, size_t len, int max_depth,
                       int array_mt, int money, int keys)
{
    decoder d;
    int base = lua_gettop(L);
    int ok;

    d.L = L;
    d.s = shape;
    d.start = d.p = (const unsigned char *)text;
    d.end = d.start + len;
    d.depth = 0;
    d.max_depth = max_depth < 1 ? 1 : max_depth > PS_ANSWER_DEPTH_MAX ? PS_ANSWER_DEPTH_MAX : max_depth;
    d.nsegs = 0;
    d.msg[0] = '\0';
    d.array_mt = array_mt;
    d.money = money;
    d.keys = keys;
    d.money_mt = 0;
    if (money) {
        /* once per answer, not once per amount */
        luaL_checkstack(L, 2, "proxyshard.core.decode");
        luaL_getmetatable(L, PS_MONEY_MT);
        d.money_mt = lua_gettop(L);
    }

    skip_ws(&d);
    if (d.p >= d.end) {
        ok = refuse(&d, "invalid JSON: no value (an empty text)");
    } else {
        ok = read_value(&d, shape->root);
        if (ok) {
            skip_ws(&d);
            if (d.p < d.end)
                ok = syntax(&d, d.p, "text after the JSON value");
        }
    }
    if (ok) {
        if (d.money_mt) {
            lua_replace(L, d.money_mt);     /* the value where the metatable was */
            lua_settop(L, d.money_mt);
        }
        return 1;
    }
    lua_settop(L, base);
    luaL_checkstack(L, 4, "proxyshard.core.decode");
    lua_pushnil(L);
    push_path(&d);
    lua_pushstring(L, d.msg);
    return 3;
}

int ps_answer_read(lua_State *L, const ps_shape *shape, const char *text, size_t len, int max_depth,
                   int array_mt, int money)
{
    return answer_read(L, shape, text, len, max_depth, array_mt, money, 0);
}

/* core.decode(text, shape [, max_depth]) */
int ps_answer_decode(lua_State *L)
{
    size_t len;
    const char *text;
    const ps_shape *s;
    int max_depth = PS_ANSWER_DEPTH;

    luaL_checktype(L, 1, LUA_TSTRING);
    text = lua_tolstring(L, 1, &len);
    s = (const ps_shape *)luaL_checkudata(L, 2, PS_SHAPE_MT);
    if (!lua_isnoneornil(L, 3)) {
        lua_Number n = luaL_checknumber(L, 3);
        luaL_argcheck(L, n >= 1 && n <= PS_ANSWER_DEPTH_MAX && n == floor(n), 3,
                      "max_depth must be an integer from 1 to 256");
        max_depth = (int)n;
    }
    if (!lua_isnoneornil(L, 4))
        luaL_checktype(L, 4, LUA_TTABLE);
    lua_settop(L, 5);
    lua_getuservalue(L, 2); /* at 6: the field names */
    return answer_read(L, s, text, len, max_depth, lua_isnoneornil(L, 4) ? 0 : 4, lua_toboolean(L, 5),
                       lua_istable(L, 6) ? 6 : 0);
}
