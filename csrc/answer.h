/*
 * answer.h - the C face of csrc/answer.c, the shape-directed JSON decoder
 * (core.shape, core.decode): what fuzz/answer_decode_fuzz.c and a later
 * C caller use besides the two Lua functions (declared in core.h).
 */
#ifndef PROXYSHARD_ANSWER_H
#define PROXYSHARD_ANSWER_H

#include <stddef.h>

#include "compat.h"

#define PS_SHAPE_MT "proxyshard.core.shape"

/* Nesting: the default bound of core.decode, and the largest bound it takes
 * (the decoder recurses once per level, skipped values included). */
#define PS_ANSWER_DEPTH 32
#define PS_ANSWER_DEPTH_MAX 256
/* The longest field name a shape may have (bytes). */
#define PS_ANSWER_NAME_MAX 255

/* A compiled shape: one block, read-only once compiled (no Lua reference
 * in it), so one shape serves any number of decodes, in any Lua state.
 * Its userdata also holds the field names as Lua strings (its user
 * value), which core.decode pushes as keys; ps_answer_read makes them. */
typedef struct ps_shape ps_shape;

/* The shape at idx, or NULL when it is not one. */
const ps_shape *ps_answer_toshape(lua_State *L, int idx);

/*
 * Decodes len bytes of text by shape, at most max_depth levels deep
 * (1..PS_ANSWER_DEPTH_MAX). Pushes the value and returns 1, or pushes nil,
 * path, message and returns 3. array_mt: the stack index of the lists'
 * metatable (0: none); money: amounts as money values, else integer
 * cents. Raises only a Lua memory error (nothing is allocated outside Lua:
 * nothing leaks). text must stay alive meanwhile.
 */
int ps_answer_read(lua_State *L, const ps_shape *shape, const char *text, size_t len,
                   int max_depth, int array_mt, int money);

#endif /* PROXYSHARD_ANSWER_H */
