/*
 * signals.c - SIGINT and SIGTERM as a value, for a program that must stop
 * cleanly (write its journal, release its lock) instead of dying mid-way:
 *   core.trap()     handlers that only record the signal's number
 *   core.trapped()  that number, or nil when none arrived
 *   core.untrap()   the previous handlers back, the number cleared
 *   core.quiet_pipe()  SIGPIPE ignored: a write to a closed pipe fails
 *                   with EPIPE, which the program reports, instead of
 *                   killing it without a word
 * While a number is recorded, libcurl transfers stop (request.c's progress
 * callback), a multi's wait and core.sleep return early (multi.c,
 * clock.c), and core.lock stops waiting (state.c).
 *
 * Signal dispositions belong to the process, not to a Lua state: so do the
 * flag and the saved handlers here. Meant for the main thread.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "core.h"

volatile sig_atomic_t ps_signal = 0;

static int installed = 0;
static struct sigaction old_int, old_term;

/* Async-signal-safe by doing nothing else: everything else polls the flag. */
static void on_signal(int sig)
{
    ps_signal = sig;
}

int ps_trap(lua_State *L)
{
    struct sigaction sa;
    int err;

    if (installed) {
        lua_pushboolean(L, 1);
        return 1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a blocking call (nanosleep, poll) must return EINTR so
     * its caller looks at the flag. */
    sa.sa_flags = 0;
    if (sigaction(SIGINT, &sa, &old_int) != 0) {
        err = errno;
        lua_pushnil(L);
        lua_pushfstring(L, "cannot trap SIGINT: %s", strerror(err));
        return 2;
    }
    if (sigaction(SIGTERM, &sa, &old_term) != 0) {
        err = errno;
        sigaction(SIGINT, &old_int, NULL);
        lua_pushnil(L);
        lua_pushfstring(L, "cannot trap SIGTERM: %s", strerror(err));
        return 2;
    }
    installed = 1;
    lua_pushboolean(L, 1);
    return 1;
}

int ps_trapped(lua_State *L)
{
    int sig = ps_signal;

    if (sig == 0)
        lua_pushnil(L);
    else
        ps_pushint(L, sig);
    return 1;
}

int ps_quiet_pipe(lua_State *L)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, NULL) != 0) {
        int err = errno;
        lua_pushnil(L);
        lua_pushfstring(L, "cannot ignore SIGPIPE: %s", strerror(err));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

int ps_untrap(lua_State *L)
{
    if (installed) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        installed = 0;
    }
    ps_signal = 0;
    lua_pushboolean(L, 1);
    return 1;
}
