/*
 * request.h - one HTTP attempt over one libcurl easy handle, as both
 * core.session (session.c, curl_easy_perform) and core.multi (multi.c,
 * curl_multi) run it. Every rule about a request is here, once: what a req
 * table may hold, the options that keep a state-changing request from
 * being sent twice (the no-resend body callbacks, a fresh connection for a
 * body-less one), timeouts, the response caps, proxies, TLS verification,
 * and the res / terr tables that come back.
 *
 * An easy handle (ps_xfer) gets its fixed options once, when it is opened;
 * each request sets only what differs between requests. Its buffers are
 * kept from one request to the next (up to KEEP_BYTES each).
 *
 * No libcurl callback touches Lua: they fill the ps_xfer's C buffers, and
 * Lua values are built after the transfer ended.
 */
#ifndef PROXYSHARD_REQUEST_H
#define PROXYSHARD_REQUEST_H

#include <stddef.h>

#include <curl/curl.h>

#include "compat.h"

typedef struct {
    char *data;
    size_t len, cap;
} ps_buf;

/* What a session or a multi fixes for all its requests. The strings are
 * copies owned by the session's or multi's userdata (ps_conf_keep). */
typedef struct {
    long timeout_ms;            /* when req.timeout_ms is nil */
    long connect_timeout_ms;    /* when req.connect_timeout_ms is nil */
    size_t max_body;            /* max_response_bytes */
    const char *ca_file;        /* NULL: the system's CAs */
    const char *proxy;          /* NULL: no proxy at all */
    const char *no_proxy;       /* NULL: no exception */
    const char *want;           /* response_headers, "name\n" each; NULL: all */
} ps_conf;

/* One easy handle and the state of its current request. */
typedef struct ps_xfer {
    CURL *curl;                 /* NULL until opened, and once closed */
    const ps_conf *conf;
    struct curl_slist *headers; /* the request's header list */
    ps_buf body;                /* response body */
    ps_buf head;                /* final response's headers, "name:value\n" */
    ps_buf up;                  /* request body (a copy: it outlives the Lua call in a multi) */
    ps_buf want;                /* req.response_headers, "name\n" each */
    size_t up_pos;              /* bytes of `up` handed to libcurl */
    size_t head_seen;           /* header bytes of the final response, kept or not */
    int multiplex;              /* a handle of a multi (CURLOPT_PIPEWAIT over TLS) */
    int want_all;               /* 1: keep every response header */
    int dropping;               /* the last header line was not kept */
    int fail;                   /* PS_FAIL_* set by a callback that aborted */
    CURLcode result;            /* multi.c: the transfer's result */
    long id;                    /* multi.c: the transfer id */
    struct ps_xfer *next;       /* multi.c: its lists */
    char errbuf[CURL_ERROR_SIZE];
} ps_xfer;

/* Reads the options common to core.session{} and core.multi{} from the
 * table at index t (timeout_ms, connect_timeout_ms, max_response_bytes,
 * ca_file, proxy, no_proxy), raising on a bad one. The strings stay on the
 * stack (three values are pushed) and c points into them; returns the
 * bytes ps_conf_keep needs to copy them. */
size_t ps_conf_read(lua_State *L, int t, ps_conf *c);

/* Copies c's strings into `room` (ps_conf_read's size) and points c there. */
void ps_conf_keep(ps_conf *c, char *room);

/* Creates the easy handle of x (zeroed beforehand) and sets its fixed
 * options; multiplex: a handle of a multi (see ps_xfer_prepare). Returns
 * CURLE_OK, or CURLE_OUT_OF_MEMORY / the failing option's code (x is then
 * closed again). */
CURLcode ps_xfer_open(ps_xfer *x, const ps_conf *c, int multiplex);

/* Reads the req table at index req (raising on a malformed one: nothing
 * is started, and what was built is released by the next prepare or by
 * close) and sets the request's options. Returns CURLE_OK or the code of
 * an option libcurl refused (push the terr with ps_xfer_push_result). */
CURLcode ps_xfer_prepare(lua_State *L, int req, ps_xfer *x);

/* After the transfer ended with rc (started: 0 when it never began, a
 * refused option): pushes the res table (returns 1) or the terr table
 * (returns 0), then releases the request's state. A memory error raised
 * while pushing leaves the state in place (released later). */
int ps_xfer_push_result(lua_State *L, ps_xfer *x, CURLcode rc, int started);

/* Releases the request's state, keeping the handle and (small) buffers. */
void ps_xfer_finish(ps_xfer *x);

/* Releases everything; idempotent. */
void ps_xfer_close(ps_xfer *x);

#endif /* PROXYSHARD_REQUEST_H */
