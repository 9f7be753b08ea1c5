/*
 * core.h - the internal interface of proxyshard.core: what core.c,
 * session.c, multi.c, request.c, money.c and clock.c share.
 */
#ifndef PROXYSHARD_CORE_H
#define PROXYSHARD_CORE_H

#include "compat.h"

#define PS_SESSION_MT "proxyshard.core.session"
#define PS_MULTI_MT "proxyshard.core.multi"
#define PS_MONEY_MT "proxyshard.money"

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

/* clock.c: core.sleep(seconds), core.monotonic(); ps_now() the same clock
 * for C (seconds) */
int ps_sleep(lua_State *L);
int ps_monotonic(lua_State *L);
double ps_now(void);

#endif /* PROXYSHARD_CORE_H */
