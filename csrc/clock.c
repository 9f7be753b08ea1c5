/*
 * clock.c - the time the client measures and waits in plain Lua, which has
 * neither a monotonic clock nor a sleep of its own. (Under nginx the client
 * uses ngx.now and ngx.sleep instead.)
 *   core.sleep(seconds)  the blocking wait between retries; it ends early
 *                        while a trapped signal is recorded (signals.c)
 *   core.monotonic()     seconds on a clock that never jumps: a call's
 *                        deadline must not move when the wall clock does
 */
#include <math.h>
#include <time.h>

#include "core.h"

/*
 * Waits `seconds` on the monotonic clock: 1 when the time passed, 0 when a
 * trapped signal is recorded (core.trap), at once or during the wait. A
 * signal cuts nanosleep short (EINTR): another signal's sleep goes on with
 * the rest. The slices of at most a second bound the delay when a trapped
 * signal lands between the flag's check and nanosleep.
 */
int ps_pause(double seconds)
{
    double end = ps_now() + seconds;

    for (;;) {
        struct timespec ts;
        double left;

        if (ps_signal)
            return 0;
        left = end - ps_now();
        if (!(left > 0))
            return 1;
        if (left > 1)
            left = 1;
        ts.tv_sec = (time_t)floor(left);
        ts.tv_nsec = (long)((left - floor(left)) * 1e9);
        nanosleep(&ts, NULL);
    }
}

int ps_sleep(lua_State *L)
{
    lua_Number seconds = luaL_checknumber(L, 1);

    luaL_argcheck(L, seconds >= 0 && seconds <= 3600, 1, "seconds must be from 0 to 3600");
    ps_pause((double)seconds);
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
