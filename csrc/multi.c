/*
 * multi.c - core.multi: many requests at once, driven from Lua by one
 * curl_multi handle. Its easy handles (request.c's ps_xfer, each with its
 * fixed options set once and its buffers kept) are pooled: a finished
 * transfer's handle serves the next start. Connections are shared by all
 * of them (the multi's connection cache), at most max_host_connections
 * per host; HTTP/2 multiplexes over one connection when the server offers
 * it (CURLPIPE_MULTIPLEX, CURLOPT_PIPEWAIT).
 *
 *   local m = core.multi { max_host_connections = 20, ... session options }
 *   local id, terr = m:start(req)     -- as session:perform's req; returns at once
 *   local done = m:wait(seconds)      -- { { id =, res = } or { id =, terr = }, ... }
 *   m:cancel(id), m:running(), m:close()
 *
 * A request in a multi is the one of session:perform, built by the same
 * code (request.c): the no-resend body callbacks, a fresh connection for a
 * body-less state-changing request, its timeouts (which, in a multi,
 * include any wait for a free connection), caps, proxy and TLS rules.
 *
 * No callback touches Lua. A transfer's handle lives on one of three
 * lists: idle (the pool), busy (added to the multi) and done (finished,
 * not yet returned by wait). Lua values are built by wait, after libcurl
 * returned.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "request.h"

typedef struct {
    CURLM *multi;               /* NULL once closed */
    ps_conf conf;               /* its strings live after this struct */
    ps_xfer *idle, *busy, *done;
    long running;               /* started, not yet returned by wait or cancelled */
    long next_id;
} ps_multi;

/* ---- lists ------------------------------------------------------------ */

static void unlink_xfer(ps_xfer **list, ps_xfer *x)
{
    while (*list != NULL && *list != x)
        list = &(*list)->next;
    if (*list == x)
        *list = x->next;
    x->next = NULL;
}

static void append_xfer(ps_xfer **list, ps_xfer *x)
{
    while (*list != NULL)
        list = &(*list)->next;
    x->next = NULL;
    *list = x;
}

static void free_list(ps_xfer **list)
{
    while (*list != NULL) {
        ps_xfer *x = *list;
        *list = x->next;
        ps_xfer_close(x);
        free(x);
    }
}

/* A finished or abandoned transfer's handle goes back to the pool. */
static void release(ps_multi *m, ps_xfer *x)
{
    ps_xfer_finish(x);
    x->next = m->idle;
    m->idle = x;
    m->running--;
}

/* ---- core.multi(opts) ------------------------------------------------- */

int ps_multi_new(lua_State *L)
{
    ps_conf conf;
    ps_multi *m;
    size_t room;
    long max_host = 0;
    CURLMcode mc;

    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_getfield(L, 1, "max_host_connections");
    if (!lua_isnil(L, 2)) {
        int64_t v = 0;
        int negzero;
        if (!ps_tocents(L, 2, &v, &negzero) || v < 1 || v > 10000)
            luaL_argerror(L, 1, "max_host_connections must be an integer from 1 to 10000");
        max_host = (long)v;
    }
    ps_curl_global(L);
    room = ps_conf_read(L, 1, &conf);

    m = (ps_multi *)lua_newuserdata(L, sizeof *m + room);
    memset(m, 0, sizeof *m);
    m->conf = conf;
    ps_conf_keep(&m->conf, (char *)(m + 1));
    luaL_getmetatable(L, PS_MULTI_MT);
    lua_setmetatable(L, -2);

    m->multi = curl_multi_init();
    if (m->multi == NULL)
        return luaL_error(L, "proxyshard.core: curl_multi_init failed");
    mc = curl_multi_setopt(m->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    if (mc == CURLM_OK)
        mc = curl_multi_setopt(m->multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_host);
    if (mc != CURLM_OK)
        return luaL_error(L, "proxyshard.core: curl_multi_setopt: %s", curl_multi_strerror(mc));
    return 1;
}

static ps_multi *check_open(lua_State *L)
{
    ps_multi *m = (ps_multi *)luaL_checkudata(L, 1, PS_MULTI_MT);

    if (m->multi == NULL)
        luaL_error(L, "multi is closed");
    return m;
}

/* ---- multi:start(req) ------------------------------------------------- */

static int multi_start(lua_State *L)
{
    ps_multi *m = check_open(L);
    ps_xfer *x;
    CURLcode rc;
    CURLMcode mc;

    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    if (m->idle == NULL) {
        x = (ps_xfer *)calloc(1, sizeof *x);
        if (x == NULL)
            return luaL_error(L, "not enough memory");
        rc = ps_xfer_open(x, &m->conf, 1);
        if (rc != CURLE_OK) {
            free(x);
            return luaL_error(L, "proxyshard.core: cannot make a libcurl handle: %s", curl_easy_strerror(rc));
        }
        m->idle = x;
    }
    /* The handle stays in the pool until it is added: a malformed req
     * raises here and leaves nothing behind. */
    x = m->idle;
    rc = ps_xfer_prepare(L, 2, x);
    if (rc != CURLE_OK) {
        lua_pushnil(L);
        ps_xfer_push_result(L, x, rc, 0);
        return 2;
    }
    mc = curl_multi_add_handle(m->multi, x->curl);
    if (mc != CURLM_OK) {
        ps_xfer_finish(x);
        return luaL_error(L, "proxyshard.core: curl_multi_add_handle: %s", curl_multi_strerror(mc));
    }
    m->idle = x->next;
    x->next = m->busy;
    m->busy = x;
    m->running++;
    x->id = ++m->next_id;
    ps_pushint(L, x->id);
    return 1;
}

/* ---- multi:wait(seconds) ---------------------------------------------- */

/* Moves the transfers libcurl says are finished from busy to done. */
static void collect(ps_multi *m)
{
    CURLMsg *msg;
    int queued;

    while ((msg = curl_multi_info_read(m->multi, &queued)) != NULL) {
        ps_xfer *x = NULL;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        x->result = msg->data.result; /* msg is not valid after the removal */
        curl_multi_remove_handle(m->multi, x->curl);
        unlink_xfer(&m->busy, x);
        append_xfer(&m->done, x);
    }
}

/*
 * A trapped signal: the perform just done stopped the transfers under way
 * (request.c's on_progress). Those libcurl did not run, queued for a
 * connection, end here the same way, so that none is left running.
 * request_sent still comes from each one's CURLINFO_REQUEST_SIZE.
 */
static void interrupt(ps_multi *m)
{
    while (m->busy != NULL) {
        ps_xfer *x = m->busy;

        curl_multi_remove_handle(m->multi, x->curl);
        x->result = CURLE_ABORTED_BY_CALLBACK;
        unlink_xfer(&m->busy, x);
        append_xfer(&m->done, x);
    }
}

/*
 * Drives the transfers until at least one has finished or `seconds`
 * passed (0: one pass, no wait; with nothing running it just waits), and
 * returns the finished ones, in the order they finished; while a trapped
 * signal is recorded (signals.c), at once, with every transfer ended. A
 * memory error while building the list raises: the transfers not yet put
 * in it stay on `done` for the next wait, the one being put in is lost to
 * the caller (never reported twice, nor with another's buffers).
 */
static int multi_wait(lua_State *L)
{
    ps_multi *m = check_open(L);
    lua_Number seconds = luaL_optnumber(L, 2, 0);
    double deadline;
    int n = 0;

    luaL_argcheck(L, seconds >= 0 && seconds <= 3600, 2, "seconds must be from 0 to 3600");
    deadline = ps_now() + (double)seconds;
    for (;;) {
        int still = 0;
        double left;
        CURLMcode mc = curl_multi_perform(m->multi, &still);

        if (mc != CURLM_OK)
            return luaL_error(L, "proxyshard.core: curl_multi_perform: %s", curl_multi_strerror(mc));
        collect(m);
        if (ps_signal) {
            interrupt(m);
            break;
        }
        if (m->done != NULL)
            break;
        left = deadline - ps_now();
        if (left <= 0)
            break;
        /* A signal cuts the poll short (EINTR), but not one that lands just
         * before it: slices of at most a second bound that delay, as in
         * curl_easy_perform. */
        if (left > 1)
            left = 1;
        mc = curl_multi_poll(m->multi, NULL, 0, (int)ceil(left * 1000), NULL);
        if (mc != CURLM_OK)
            return luaL_error(L, "proxyshard.core: curl_multi_poll: %s", curl_multi_strerror(mc));
    }

    lua_newtable(L);
    while (m->done != NULL) {
        ps_xfer *x = m->done;
        int ok;

        lua_createtable(L, 0, 2);
        ps_pushint(L, x->id);
        lua_setfield(L, -2, "id");
        ok = ps_xfer_push_result(L, x, x->result, 1);
        /* its result is on the stack: the handle can go back now */
        m->done = x->next;
        release(m, x);
        lua_setfield(L, -2, ok ? "res" : "terr");
        lua_rawseti(L, -2, ++n);
    }
    return 1;
}

/* ---- multi:cancel(id), multi:running() -------------------------------- */

static ps_xfer *find(ps_xfer *list, long id)
{
    while (list != NULL && list->id != id)
        list = list->next;
    return list;
}

/* Abandons a transfer that has not been returned yet (its connection is
 * closed if it was under way). true when there was one. */
static int multi_cancel(lua_State *L)
{
    ps_multi *m = check_open(L);
    long id = (long)luaL_checknumber(L, 2);
    ps_xfer *x = find(m->busy, id);

    if (x != NULL) {
        curl_multi_remove_handle(m->multi, x->curl);
        unlink_xfer(&m->busy, x);
    } else if ((x = find(m->done, id)) != NULL) {
        unlink_xfer(&m->done, x);
    }
    if (x != NULL)
        release(m, x);
    lua_pushboolean(L, x != NULL);
    return 1;
}

static int multi_running(lua_State *L)
{
    ps_multi *m = (ps_multi *)luaL_checkudata(L, 1, PS_MULTI_MT);

    ps_pushint(L, m->running);
    return 1;
}

/* ---- close / __gc / __close, __tostring ------------------------------- */

/* Idempotent: close(), __gc and __close all end up here. Transfers still
 * under way are abandoned. */
static int multi_close(lua_State *L)
{
    ps_multi *m = (ps_multi *)luaL_checkudata(L, 1, PS_MULTI_MT);
    ps_xfer *x;

    if (m->multi == NULL)
        return 0;
    for (x = m->busy; x != NULL; x = x->next)
        curl_multi_remove_handle(m->multi, x->curl);
    free_list(&m->busy);
    free_list(&m->done);
    free_list(&m->idle);
    curl_multi_cleanup(m->multi);
    m->multi = NULL;
    m->running = 0;
    return 0;
}

static int multi_tostring(lua_State *L)
{
    ps_multi *m = (ps_multi *)luaL_checkudata(L, 1, PS_MULTI_MT);

    if (m->multi == NULL)
        lua_pushliteral(L, PS_MULTI_MT " (closed)");
    else
        lua_pushfstring(L, PS_MULTI_MT " (open, %d running)", (int)m->running);
    return 1;
}

static const luaL_Reg multi_methods[] = {
    { "start", multi_start },
    { "wait", multi_wait },
    { "cancel", multi_cancel },
    { "running", multi_running },
    { "close", multi_close },
    { NULL, NULL }
};

static const luaL_Reg multi_meta[] = {
    { "__gc", multi_close },
    { "__close", multi_close },
    { "__tostring", multi_tostring },
    { NULL, NULL }
};

void ps_multi_init_metatable(lua_State *L)
{
    if (luaL_newmetatable(L, PS_MULTI_MT)) {
        luaL_setfuncs(L, multi_meta, 0);
        luaL_newlib(L, multi_methods);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
}
