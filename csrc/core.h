/*
 * core.h - the internal interface of proxyshard.core: what core.c,
 * session.c, multi.c, request.c, money.c, clock.c, state.c, sha256.c and
 * signals.c share.
 */
#ifndef PROXYSHARD_CORE_H
#define PROXYSHARD_CORE_H

#include <signal.h>

#include "compat.h"

#define PS_SESSION_MT "proxyshard.core.session"
#define PS_MULTI_MT "proxyshard.core.multi"
#define PS_MONEY_MT "proxyshard.money"
#define PS_LOCK_MT "proxyshard.core.lock"

/* core.c: the only exported symbol */
PS_EXPORT int luaopen_proxyshard_core(lua_State *L);

/* core.c: curl_global_init, once per Lua state, on the first session or
 * multi (a Lua state that only uses money never initialises libcurl) */
void ps_curl_global(lua_State *L);

/* session.c */
void ps_session_init_metatable(lua_State *L); /* creates PS_SESSION_MT */
int ps_session_new(lua_State *L);             /* core.session(opts) */

/* multi.c */
void ps_multi_init_metatable(lua_State *L);   /* creates PS_MULTI_MT */
int ps_multi_new(lua_State *L);               /* core.multi(opts) */

/* money.c: pushes the core.money table (creates PS_MONEY_MT) */
void ps_money_open(lua_State *L);
/* money.c: pushes a money value of `cents` (the decoder's amounts) */
void ps_money_push(lua_State *L, int64_t cents);
/* The same with the money metatable at stack index mt (no registry
 * lookup; 0: looked up, as ps_money_push does). */
void ps_money_push_mt(lua_State *L, int64_t cents, int mt);

/* clock.c: core.sleep(seconds), core.monotonic(); ps_now() the same clock
 * for C (seconds) */
int ps_sleep(lua_State *L);
int ps_monotonic(lua_State *L);
double ps_now(void);
/* waits seconds: 1, or 0 when cut short by a trapped signal (ps_signal) */
int ps_pause(double seconds);

/* state.c: core.lock(path, wait_seconds), core.append(path, text),
 * core.replace(path, text) */
void ps_lock_init_metatable(lua_State *L);   /* creates PS_LOCK_MT */
int ps_lock_new(lua_State *L);
int ps_append(lua_State *L);
int ps_replace(lua_State *L);
int ps_mkdirs(lua_State *L);                 /* core.mkdirs(path, mode) */
int ps_process(lua_State *L);                /* core.process() */

/* sha256.c: core.sha256(text) */
int ps_sha256(lua_State *L);

/* signals.c: core.trap(), core.trapped(), core.untrap(). ps_signal is the
 * number of the trapped signal that arrived (0: none); the waits and
 * libcurl's progress callback read it, nothing but the handler and
 * core.untrap writes it. */
extern volatile sig_atomic_t ps_signal;
int ps_trap(lua_State *L);
int ps_trapped(lua_State *L);
int ps_untrap(lua_State *L);
int ps_quiet_pipe(lua_State *L);

/* answer.c: core.shape(t), core.decode(text, shape [, max_depth]) */
int ps_answer_shape(lua_State *L);
int ps_answer_decode(lua_State *L);

#endif /* PROXYSHARD_CORE_H */
