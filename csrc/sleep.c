/*
 * sleep.c - core.sleep(seconds): the blocking wait between retries for
 * plain Lua, which has none of its own. (Under nginx the client is given
 * ngx.sleep instead.)
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
