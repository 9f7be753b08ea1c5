/*
 * clock.c - the time the client measures and waits in plain Lua, which has
 * neither a monotonic clock nor a sleep of its own. (Under nginx the client
 * uses ngx.now and ngx.sleep instead.)
 *   core.sleep(seconds)  the blocking wait between retries
 *   core.monotonic()     seconds on a clock that never jumps: a call's
 *                        deadline must not move when the wall clock does
 */
#include <errno.h>
#include <math.h>
#include <time.h>

#include "core.h"

int ps_sleep(lua_State *L)
{
    lua_Number seconds = luaL_checknumber(L, 1);
    struct timespec left;

    luaL_argcheck(L, seconds >= 0 && seconds <= 3600, 1, "seconds must be from 0 to 3600");
    left.tv_sec = (time_t)floor(seconds);
    left.tv_nsec = (long)((seconds - floor(seconds)) * 1e9);
    /* A signal cuts nanosleep short: sleep the rest. */
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
    return 0;
}

int ps_monotonic(lua_State *L)
{
    struct timespec now;

    if (clock_gettime(CLOCK_MONOTONIC, &now) != 0)
        return luaL_error(L, "proxyshard.core: clock_gettime(CLOCK_MONOTONIC) failed");
    lua_pushnumber(L, (lua_Number)now.tv_sec + (lua_Number)now.tv_nsec / 1e9);
    return 1;
}

/* CLOCK_MONOTONIC cannot fail on Linux with a valid pointer; 0 if it did. */
double ps_now(void)
{
    struct timespec now;

    if (clock_gettime(CLOCK_MONOTONIC, &now) != 0)
        return 0;
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}
