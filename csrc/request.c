/*
 * request.c - one HTTP attempt over one libcurl easy handle: the options,
 * the callbacks and the result tables that core.session and core.multi
 * share (see request.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core.h"
#include "request.h"

#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_MAX_RESPONSE_BYTES ((size_t)1 << 20)
/* Headers are not counted against max_response_bytes (a tiny body cap must
 * not reject normal headers) but still need a bound: every header byte of
 * the final response counts, kept or not. */
#define MAX_HEADER_BYTES ((size_t)256 << 10)
/* A buffer larger than this is freed after its request, not kept. */
#define KEEP_BYTES ((size_t)64 << 10)

enum { PS_FAIL_NONE, PS_FAIL_TOO_LARGE, PS_FAIL_HEADERS_TOO_LARGE, PS_FAIL_NOMEM };

/* ---- buffers ---------------------------------------------------------- */

/* n more bytes at the end of b, not yet written: their start, or NULL
 * (out of memory). */
static char *buf_extend(ps_buf *b, size_t n)
{
    char *at;

    if (n > b->cap - b->len) {
        /* small first: a pool of handles each keeps its buffers, and an
         * answer of the API is mostly a few hundred bytes */
        size_t cap = b->cap ? b->cap : 256;
        char *data;
        while (cap - b->len < n) {
            if (cap > ((size_t)-1) / 2)
                return NULL;
            cap *= 2;
        }
        data = (char *)realloc(b->data, cap);
        if (data == NULL)
            return NULL;
        b->data = data;
        b->cap = cap;
    }
    at = b->data + b->len;
    b->len += n;
    return at;
}

static int buf_append(ps_buf *b, const char *p, size_t n)
{
    char *at;

    if (n == 0)
        return 1;
    at = buf_extend(b, n);
    if (at == NULL)
        return 0;
    memcpy(at, p, n);
    return 1;
}

static void buf_free(ps_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Empty, and freed when it grew large: kept for the next request. */
static void buf_clear(ps_buf *b)
{
    if (b->cap > KEEP_BYTES)
        buf_free(b);
    b->len = 0;
}

/* ---- libcurl callbacks (no Lua API in here) --------------------------- */

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
    ps_xfer *x = (ps_xfer *)ud;
    size_t n = size * nmemb;

    if (n > x->conf->max_body - x->body.len) {
        x->fail = PS_FAIL_TOO_LARGE;
        return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
    }
    if (!buf_append(&x->body, p, n)) {
        x->fail = PS_FAIL_NOMEM;
        return 0;
    }
    return n;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Is the lower-case name at p (len bytes) one of req.response_headers? */
static int is_wanted(const ps_xfer *x, const char *p, size_t len)
{
    const char *w = x->want.data, *end = x->want.data + x->want.len;

    while (w < end) {
        const char *nl = (const char *)memchr(w, '\n', (size_t)(end - w));
        if ((size_t)(nl - w) == len && memcmp(w, p, len) == 0)
            return 1;
        w = nl + 1;
    }
    return 0;
}

/*
 * Stores each header line of the last response as "name:value\n", name
 * lower-cased and value trimmed; with req.response_headers, only those
 * names. A status line starts a new response (e.g. after "100 Continue"),
 * so it drops what was stored so far.
 */
static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    ps_xfer *x = (ps_xfer *)ud;
    size_t n = size * nmemb, len = n, i, colon;
    int ok = 1;

    while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == '\n'))
        len--;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        x->head.len = 0;
        x->head_seen = 0;
        x->dropping = 0;
        return n;
    }
    if (len == 0)
        return n;
    if (len > MAX_HEADER_BYTES - x->head_seen) {
        x->fail = PS_FAIL_HEADERS_TOO_LARGE;
        return 0;
    }
    x->head_seen += len;

    if (is_space(p[0])) {
        /* Obsolete line folding: continue the previous header's value. */
        if (x->head.len == 0 || x->dropping)
            return n;
        for (i = 0; i < len && is_space(p[i]); i++)
            ;
        if (i == len)
            return n;
        x->head.len--; /* drop the previous '\n' */
        if (x->head.data[x->head.len - 1] != ':')
            ok = buf_append(&x->head, " ", 1);
        ok = ok && buf_append(&x->head, p + i, len - i) && buf_append(&x->head, "\n", 1);
    } else {
        const char *v;
        size_t vlen, start;

        for (colon = 0; colon < len && p[colon] != ':'; colon++)
            ;
        if (colon == len || colon == 0)
            return n; /* not a header line: ignore it */
        start = x->head.len;
        ok = buf_append(&x->head, p, colon);
        for (i = start; ok && i < x->head.len; i++) {
            char c = x->head.data[i];
            if (c >= 'A' && c <= 'Z')
                x->head.data[i] = (char)(c - 'A' + 'a');
        }
        while (ok && x->head.len > start && is_space(x->head.data[x->head.len - 1]))
            x->head.len--;
        if (ok && !x->want_all && !is_wanted(x, x->head.data + start, x->head.len - start)) {
            x->head.len = start;
            x->dropping = 1;
            return n;
        }
        x->dropping = 0;
        v = p + colon + 1;
        vlen = len - colon - 1;
        while (vlen > 0 && is_space(*v))
            v++, vlen--;
        while (vlen > 0 && is_space(v[vlen - 1]))
            vlen--;
        ok = ok && buf_append(&x->head, ":", 1) && buf_append(&x->head, v, vlen) &&
             buf_append(&x->head, "\n", 1);
    }
    if (!ok) {
        x->fail = PS_FAIL_NOMEM;
        return 0;
    }
    return n;
}

static size_t on_read(char *dst, size_t size, size_t nmemb, void *ud)
{
    ps_xfer *x = (ps_xfer *)ud;
    size_t n = size * nmemb, left = x->up.len - x->up_pos;

    if (n > left)
        n = left;
    if (n > 0)
        memcpy(dst, x->up.data + x->up_pos, n);
    x->up_pos += n;
    return n;
}

/*
 * libcurl rewinds a body sent through the read callback only to send the
 * request again, e.g. when a reused keep-alive connection died before any
 * answer byte (Curl_retry_request). Refusing turns that silent resend into
 * CURLE_SEND_FAIL_REWIND. (A CURLOPT_POSTFIELDS body is never rewound
 * through here: libcurl resends those by itself, so they carry only
 * requests that may be sent twice.)
 */
static int on_seek(void *ud, curl_off_t offset, int origin)
{
    (void)ud;
    (void)offset;
    (void)origin;
    return CURL_SEEKFUNC_FAIL;
}

/*
 * Called often during every transfer (CURLOPT_NOPROGRESS is 0): non-zero
 * stops it with CURLE_ABORTED_BY_CALLBACK while a trapped signal is
 * recorded (core.trap, signals.c). One load and a compare, nothing else.
 */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)ud;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return ps_signal != 0;
}

/* ---- argument helpers ------------------------------------------------- */

/* A string free of CR, LF and NUL: these would let a value inject or cut
 * header lines. */
static int is_clean_line(const char *p, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0')
            return 0;
    return 1;
}

/* Milliseconds at stack index idx: nil gives dflt; else a finite number > 0,
 * rounded up so 0.5 ms does not become 0 (= no timeout for libcurl). */
static long opt_ms(lua_State *L, int idx, long dflt, int arg, const char *name)
{
    lua_Number v;

    if (lua_isnil(L, idx))
        return dflt;
    if (lua_type(L, idx) != LUA_TNUMBER)
        luaL_argerror(L, arg, lua_pushfstring(L, "%s must be a number", name));
    v = lua_tonumber(L, idx);
    if (!(v > 0 && v <= 2147483647.0))
        luaL_argerror(L, arg, lua_pushfstring(L, "%s must be > 0 and <= 2^31-1", name));
    return (long)ceil(v);
}

/* req[name], a time in seconds as the transport interface gives it
 * (req.timeout), in whole milliseconds: rounded to the nearest, at least
 * 1; dflt when nil. The stack is left as it was. */
static long opt_seconds(lua_State *L, int req, const char *name, long dflt)
{
    lua_Number v;
    int t;

    lua_getfield(L, req, name); /* void before Lua 5.3 */
    t = lua_type(L, -1);
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        return dflt;
    }
    if (t != LUA_TNUMBER)
        luaL_argerror(L, req, lua_pushfstring(L, "req.%s must be a number of seconds", name));
    v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (!(v > 0 && v <= 2147483.0))
        luaL_argerror(L, req, lua_pushfstring(L, "req.%s must be > 0 and at most 2147483 seconds", name));
    v = floor(v * 1000.0 + 0.5);
    return v < 1 ? 1 : (long)v;
}

/* An optional string field of the table at t (or NULL); no CR/LF/NUL.
 * Leaves the value on the stack so the pointer stays valid. */
static const char *opt_string(lua_State *L, int t, const char *name, size_t *len)
{
    const char *v;

    lua_getfield(L, t, name);
    if (lua_isnil(L, -1)) {
        *len = 0;
        return NULL;
    }
    if (lua_type(L, -1) != LUA_TSTRING)
        luaL_argerror(L, 1, lua_pushfstring(L, "%s must be a string", name));
    v = lua_tolstring(L, -1, len);
    if (!is_clean_line(v, *len))
        luaL_argerror(L, 1, lua_pushfstring(L, "%s must not contain CR, LF or NUL", name));
    return v;
}

/*
 * A proxy URL with one of the schemes libcurl reads its proxy type from.
 * Without a scheme libcurl would assume an HTTP proxy; the Lua layer
 * (proxyshard.proxy) always writes one, so a bare host here is refused.
 */
static int is_proxy_url(const char *p)
{
    static const char *const schemes[] = {
        "http://", "https://", "socks4://", "socks4a://", "socks5://", "socks5h://", NULL
    };
    int i;

    for (i = 0; schemes[i] != NULL; i++) {
        size_t n = strlen(schemes[i]);
        if (strncasecmp(p, schemes[i], n) == 0)
            return p[n] != '\0';
    }
    return 0;
}

/* The response header names of the array at idx, checked: with out, each
 * written lower-cased and followed by "\n" (the total is returned either
 * way). Errors name `what` and argument `arg`. */
static size_t wanted_names(lua_State *L, int arg, int idx, const char *what, char *out)
{
    size_t n, i, j, total = 0;

    if (!lua_istable(L, idx))
        luaL_argerror(L, arg, lua_pushfstring(L, "%s must be an array of header names", what));
    n = lua_rawlen(L, idx);
    for (i = 1; i <= n; i++) {
        const char *h;
        size_t hlen;
        lua_rawgeti(L, idx, (int)i);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_argerror(L, arg, lua_pushfstring(L, "%s[%d] must be a string", what, (int)i));
        h = lua_tolstring(L, -1, &hlen);
        if (hlen == 0 || !is_clean_line(h, hlen) || memchr(h, ':', hlen) != NULL)
            luaL_argerror(L, arg, lua_pushfstring(L, "%s[%d] must be a header name", what, (int)i));
        if (out != NULL) {
            for (j = 0; j < hlen; j++) {
                char c = h[j];
                out[total + j] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
            }
            out[total + hlen] = '\n';
        }
        total += hlen + 1;
        lua_pop(L, 1);
    }
    return total;
}

/* ---- the options of a session or multi -------------------------------- */

size_t ps_conf_read(lua_State *L, int t, ps_conf *c)
{
    size_t ca_len = 0, px_len = 0, np_len = 0, w_len = 0;

    t = lua_absindex(L, t);
    c->timeout_ms = DEFAULT_TIMEOUT_MS;
    c->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
    c->max_body = DEFAULT_MAX_RESPONSE_BYTES;

    lua_getfield(L, t, "timeout_ms");
    c->timeout_ms = opt_ms(L, -1, c->timeout_ms, 1, "timeout_ms");
    lua_getfield(L, t, "connect_timeout_ms");
    c->connect_timeout_ms = opt_ms(L, -1, c->connect_timeout_ms, 1, "connect_timeout_ms");
    lua_getfield(L, t, "max_response_bytes");
    if (!lua_isnil(L, -1)) {
        int64_t v = 0;
        int negzero;
        if (!ps_tocents(L, -1, &v, &negzero) || v < 1 || (uint64_t)v > (size_t)-1)
            luaL_argerror(L, 1, "max_response_bytes must be a positive integer");
        c->max_body = (size_t)v;
    }
    lua_pop(L, 3);

    c->ca_file = opt_string(L, t, "ca_file", &ca_len);
    c->proxy = opt_string(L, t, "proxy", &px_len);
    if (c->proxy != NULL && !is_proxy_url(c->proxy))
        luaL_argerror(L, 1, "proxy must be a URL with a scheme among http, https, "
                            "socks4, socks4a, socks5, socks5h");
    c->no_proxy = opt_string(L, t, "no_proxy", &np_len);
    /* the default of req.response_headers, written on the stack (a
     * userdata) until ps_conf_keep copies it */
    lua_getfield(L, t, "response_headers");
    c->want = NULL;
    if (!lua_isnil(L, -1)) {
        int names = lua_gettop(L);
        size_t total = wanted_names(L, 1, names, "response_headers", NULL);
        char *w = (char *)lua_newuserdata(L, total + 1);
        wanted_names(L, 1, names, "response_headers", w);
        w[total] = '\0';
        c->want = w;
        w_len = total;
    }
    return (c->ca_file ? ca_len + 1 : 0) + (c->proxy ? px_len + 1 : 0) +
           (c->no_proxy ? np_len + 1 : 0) + (c->want ? w_len + 1 : 0);
}

static const char *keep_string(const char *s, char **room)
{
    size_t n;
    char *copy;

    if (s == NULL)
        return NULL;
    n = strlen(s) + 1;
    copy = *room;
    memcpy(copy, s, n);
    *room += n;
    return copy;
}

void ps_conf_keep(ps_conf *c, char *room)
{
    c->ca_file = keep_string(c->ca_file, &room);
    c->proxy = keep_string(c->proxy, &room);
    c->no_proxy = keep_string(c->no_proxy, &room);
    c->want = keep_string(c->want, &room);
}

/* ---- the easy handle -------------------------------------------------- */

#define SETOPT(opt, val)                                 \
    do {                                                 \
        if (rc == CURLE_OK)                              \
            rc = curl_easy_setopt(c, (opt), (val));      \
    } while (0)

CURLcode ps_xfer_open(ps_xfer *x, const ps_conf *conf, int multiplex)
{
    CURLcode rc = CURLE_OK;
    CURL *c = curl_easy_init();

    if (c == NULL)
        return CURLE_OUT_OF_MEMORY;
    x->curl = c;
    x->conf = conf;
    x->multiplex = multiplex;
    x->want_all = 1;

    SETOPT(CURLOPT_PRIVATE, (void *)x);
    SETOPT(CURLOPT_ERRORBUFFER, x->errbuf);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    SETOPT(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    /* What is sent is the path built: libcurl must not squash dot segments
     * (a path parameter can never move the request elsewhere). */
    SETOPT(CURLOPT_PATH_AS_IS, 1L);
    SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
    if (conf->ca_file != NULL)
        SETOPT(CURLOPT_CAINFO, conf->ca_file);
    /* Proxies only when asked for: an empty CURLOPT_PROXY makes libcurl
     * ignore http_proxy, https_proxy, ALL_PROXY..., and an empty
     * CURLOPT_NOPROXY keeps it from reading no_proxy/NO_PROXY, which would
     * otherwise switch the chosen proxy off behind our back. Our headers
     * (Authorization) go to the server only, never into a CONNECT to the
     * proxy. The scheme of the URL gives the proxy type. */
    SETOPT(CURLOPT_PROXY, conf->proxy != NULL ? conf->proxy : "");
    SETOPT(CURLOPT_NOPROXY, conf->no_proxy != NULL ? conf->no_proxy : "");
    SETOPT(CURLOPT_HEADEROPT, (long)CURLHEADER_SEPARATE);
    if (conf->proxy != NULL) {
        /* An https:// proxy is verified like the API, against ca_file
         * when one is given. */
        SETOPT(CURLOPT_PROXY_SSL_VERIFYPEER, 1L);
        SETOPT(CURLOPT_PROXY_SSL_VERIFYHOST, 2L);
        if (conf->ca_file != NULL)
            SETOPT(CURLOPT_PROXY_CAINFO, conf->ca_file);
    }
    /* No CURLOPT_ACCEPT_ENCODING: answers come as they are (identity), as
     * through lua-resty-http and the subrequest, which cannot decode them;
     * the API's answers are small JSON, and libcurl's decoder chain costs
     * about a tenth of a request's instructions (bench --profile). */
    SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)conf->max_body);
    SETOPT(CURLOPT_WRITEFUNCTION, on_write);
    SETOPT(CURLOPT_WRITEDATA, (void *)x);
    SETOPT(CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(CURLOPT_HEADERDATA, (void *)x);
    /* Used only by a body given without CURLOPT_POSTFIELDS (no_resend). */
    SETOPT(CURLOPT_READFUNCTION, on_read);
    SETOPT(CURLOPT_READDATA, (void *)x);
    SETOPT(CURLOPT_SEEKFUNCTION, on_seek);
    SETOPT(CURLOPT_SEEKDATA, (void *)x);
    SETOPT(CURLOPT_XFERINFOFUNCTION, on_progress);
    SETOPT(CURLOPT_XFERINFODATA, (void *)NULL);
    SETOPT(CURLOPT_NOPROGRESS, 0L);
    if (rc != CURLE_OK)
        ps_xfer_close(x);
    return rc;
}

/* The header list stays with the handle from one request to the next (the
 * same lines, most often: no allocation then); close frees it. */
static void drop_headers(ps_xfer *x)
{
    if (x->curl != NULL)
        curl_easy_setopt(x->curl, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    curl_slist_free_all(x->headers);
    x->headers = NULL;
}

void ps_xfer_finish(ps_xfer *x)
{
    buf_clear(&x->body);
    buf_clear(&x->head);
    buf_clear(&x->up);
    buf_clear(&x->want);
    x->up_pos = 0;
    x->head_seen = 0;
    x->dropping = 0;
    x->want_all = 1;
    x->fail = PS_FAIL_NONE;
}

void ps_xfer_close(ps_xfer *x)
{
    ps_xfer_finish(x);
    drop_headers(x);
    if (x->curl != NULL) {
        curl_easy_cleanup(x->curl);
        x->curl = NULL;
    }
    buf_free(&x->body);
    buf_free(&x->head);
    buf_free(&x->up);
    buf_free(&x->want);
}

static int append_header(ps_xfer *x, const char *line)
{
    struct curl_slist *l = curl_slist_append(x->headers, line);

    if (l == NULL)
        return 0;
    x->headers = l;
    return 1;
}

/* Is `l` the list of the n lines of the array at idx, then "Expect:", and
 * then "Content-Type:" when ctype? */
static int same_headers(lua_State *L, int idx, size_t n, const struct curl_slist *l, int ctype)
{
    size_t i;

    for (i = 1; i <= n; i++, l = l->next) {
        int same;
        if (l == NULL)
            return 0;
        lua_rawgeti(L, idx, (int)i);
        same = strcmp(l->data, lua_tostring(L, -1)) == 0;
        lua_pop(L, 1);
        if (!same)
            return 0;
    }
    if (l == NULL || strcmp(l->data, "Expect:") != 0)
        return 0;
    l = l->next;
    if (ctype) {
        if (l == NULL || strcmp(l->data, "Content-Type:") != 0)
            return 0;
        l = l->next;
    }
    return l == NULL;
}

/* Reads req.response_headers (at idx) into x->want, or else the session's
 * or multi's response_headers. */
static void read_wanted(lua_State *L, int req, int idx, ps_xfer *x)
{
    size_t total;

    if (lua_isnil(L, idx)) {
        if (x->conf->want != NULL) {
            x->want_all = 0;
            if (!buf_append(&x->want, x->conf->want, strlen(x->conf->want)))
                luaL_error(L, "not enough memory");
        }
        return;
    }
    total = wanted_names(L, req, idx, "req.response_headers", NULL);
    x->want_all = 0;
    if (total > 0) {
        char *at = buf_extend(&x->want, total);
        if (at == NULL)
            luaL_error(L, "not enough memory");
        wanted_names(L, req, idx, "req.response_headers", at);
    }
}

enum { F_METHOD = 1, F_URL, F_HEADERS, F_BODY, F_NO_RESEND, F_TIMEOUT, F_CONNECT, F_WANT };

CURLcode ps_xfer_prepare(lua_State *L, int req, ps_xfer *x)
{
    static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", NULL };
    enum { M_GET, M_POST, M_PUT, M_PATCH, M_DELETE };
    const ps_conf *conf = x->conf;
    const char *url, *body = NULL;
    size_t url_len, body_len = 0, nheaders = 0, i;
    int method, no_resend, has_ctype = 0, post_like, base;
    long timeout_ms, connect_ms;
    CURLcode rc = CURLE_OK;
    CURL *c = x->curl;

    req = lua_absindex(L, req);
    luaL_checktype(L, req, LUA_TTABLE);
    /* Leftovers of a request whose preparation or result raised. */
    ps_xfer_finish(x);
    x->errbuf[0] = '\0';

    /* The fields stay on the stack until the options are set. */
    base = lua_gettop(L);
#define FIELD(k) (base + (k))
    lua_getfield(L, req, "method");
    method = -1;
    if (lua_type(L, FIELD(F_METHOD)) == LUA_TSTRING)
        for (method = 0; methods[method] != NULL; method++)
            if (strcmp(methods[method], lua_tostring(L, FIELD(F_METHOD))) == 0)
                break;
    if (method < 0 || methods[method] == NULL)
        luaL_argerror(L, req, "req.method must be one of GET, POST, PUT, PATCH, DELETE");

    lua_getfield(L, req, "url");
    if (lua_type(L, FIELD(F_URL)) != LUA_TSTRING)
        luaL_argerror(L, req, "req.url must be a string");
    url = lua_tolstring(L, FIELD(F_URL), &url_len);
    if (!is_clean_line(url, url_len))
        luaL_argerror(L, req, "req.url must not contain CR, LF or NUL");

    lua_getfield(L, req, "headers");
    if (!lua_isnil(L, FIELD(F_HEADERS))) {
        if (!lua_istable(L, FIELD(F_HEADERS)))
            luaL_argerror(L, req, "req.headers must be an array of strings");
        nheaders = lua_rawlen(L, FIELD(F_HEADERS));
        for (i = 1; i <= nheaders; i++) {
            const char *h;
            size_t hlen;
            lua_rawgeti(L, FIELD(F_HEADERS), (int)i);
            if (lua_type(L, -1) != LUA_TSTRING)
                luaL_argerror(L, req, lua_pushfstring(L, "req.headers[%d] must be a string", (int)i));
            h = lua_tolstring(L, -1, &hlen);
            if (!is_clean_line(h, hlen))
                luaL_argerror(L, req, lua_pushfstring(L,
                    "req.headers[%d] must not contain CR, LF or NUL", (int)i));
            if (hlen >= 13 && strncasecmp(h, "content-type:", 13) == 0)
                has_ctype = 1;
            lua_pop(L, 1);
        }
    }

    lua_getfield(L, req, "body");
    if (!lua_isnil(L, FIELD(F_BODY))) {
        if (lua_type(L, FIELD(F_BODY)) != LUA_TSTRING)
            luaL_argerror(L, req, "req.body must be a string or nil");
        body = lua_tolstring(L, FIELD(F_BODY), &body_len);
    }
    if (method == M_GET && body_len > 0)
        luaL_argerror(L, req, "a GET request cannot carry a body");

    lua_getfield(L, req, "no_resend");
    no_resend = lua_toboolean(L, FIELD(F_NO_RESEND));
    lua_getfield(L, req, "timeout_ms");
    timeout_ms = lua_isnil(L, FIELD(F_TIMEOUT)) ? opt_seconds(L, req, "timeout", conf->timeout_ms)
                                                : opt_ms(L, FIELD(F_TIMEOUT), 0, req, "req.timeout_ms");
    lua_getfield(L, req, "connect_timeout_ms");
    connect_ms = lua_isnil(L, FIELD(F_CONNECT))
                     ? opt_seconds(L, req, "connect_timeout", conf->connect_timeout_ms)
                     : opt_ms(L, FIELD(F_CONNECT), 0, req, "req.connect_timeout_ms");
    lua_getfield(L, req, "response_headers");
    read_wanted(L, req, FIELD(F_WANT), x);

    /* POST, PUT and PATCH always carry a body ("" when nil) so that
     * Content-Length is sent; DELETE only when one is given. */
    post_like = method == M_POST || method == M_PUT || method == M_PATCH ||
                (method == M_DELETE && body != NULL);

    /* The body is copied: in a multi the transfer outlives this call. */
    if (body_len > 0 && !buf_append(&x->up, body, body_len))
        luaL_error(L, "not enough memory");
    /* No "Expect: 100-continue" round trip, and no libcurl default
     * Content-Type on bodies the caller did not label: after the caller's
     * lines, "Expect:" and maybe "Content-Type:". The last request's list
     * is kept when it has the same lines. The list is owned by x: a memory
     * error raised here leaves nothing behind (the next prepare or close
     * frees it, and a list cut short is never the same). */
    if (!same_headers(L, FIELD(F_HEADERS), nheaders, x->headers, post_like && !has_ctype)) {
        drop_headers(x);
        for (i = 1; i <= nheaders; i++) {
            int ok;
            lua_rawgeti(L, FIELD(F_HEADERS), (int)i);
            ok = append_header(x, lua_tostring(L, -1));
            lua_pop(L, 1);
            if (!ok)
                luaL_error(L, "not enough memory");
        }
        if (!append_header(x, "Expect:") ||
            (post_like && !has_ctype && !append_header(x, "Content-Type:")))
            luaL_error(L, "not enough memory");
    }

    /* Only what differs between requests; ps_xfer_open set the rest. */
    SETOPT(CURLOPT_URL, url); /* libcurl copies it */
    SETOPT(CURLOPT_TIMEOUT_MS, timeout_ms);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    SETOPT(CURLOPT_HTTPHEADER, x->headers);
    /* First: setting CURLOPT_POSTFIELDS also makes the request a POST. */
    if (post_like && !(no_resend && body_len > 0))
        SETOPT(CURLOPT_POSTFIELDS, body_len > 0 ? x->up.data : "");
    else
        SETOPT(CURLOPT_POSTFIELDS, (char *)NULL);
    if (post_like) {
        SETOPT(CURLOPT_POST, 1L);
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        /* With no_resend and a body, CURLOPT_POSTFIELDS is NULL: the body
         * goes through on_read, and on_seek refuses to rewind it, so
         * libcurl cannot resend it. */
    } else {
        SETOPT(CURLOPT_HTTPGET, 1L);
    }
    SETOPT(CURLOPT_CUSTOMREQUEST, method == M_GET || method == M_POST ? (char *)NULL
                                                                       : methods[method]);
    /* In a multi, over TLS: wait for a connection being set up to say
     * whether it multiplexes (HTTP/2, from ALPN) rather than open another.
     * Not over plain http, which is HTTP/1.1 here: there a transfer that
     * waited would stay queued until another finished. */
    if (x->multiplex)
        SETOPT(CURLOPT_PIPEWAIT, url_len >= 8 && strncasecmp(url, "https://", 8) == 0 ? 1L : 0L);
    /* With no body byte to rewind, libcurl would resend without asking
     * (Curl_retry_request rewinds only when body bytes were written), so
     * such requests never go over a reused connection. */
    SETOPT(CURLOPT_FRESH_CONNECT, no_resend && body_len == 0 ? 1L : 0L);
#undef FIELD
    lua_settop(L, base);
    return rc;
}

#undef SETOPT

/* ---- results ---------------------------------------------------------- */

static int is_tls_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
        return 1;
    default:
        return 0;
    }
}

/*
 * Could any byte of the request have reached the wire? request_size counts
 * the request bytes written during this transfer, including attempts
 * libcurl retried itself, so a code that normally means "never left" is
 * trusted only when it is 0. Everything else is assumed sent.
 */
static int request_sent(CURLcode rc, long request_size)
{
    if (request_size > 0)
        return 1;
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
#if LIBCURL_VERSION_NUM >= 0x074900 /* 7.73.0 */
    case CURLE_PROXY: /* a proxy (SOCKS) handshake failed */
#endif
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_ABORTED_BY_CALLBACK: /* on_progress, before a byte was sent */
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return 0;
    case CURLE_SSL_SHUTDOWN_FAILED:
        return 1;
    default:
        return is_tls_error(rc) ? 0 : 1;
    }
}

/* Pushes the terr table. The message is built before anything is pushed. */
static void push_terr(lua_State *L, ps_xfer *x, CURLcode rc, long request_size)
{
    const char *kind = "network";
    char msg[CURL_ERROR_SIZE + 160];
    size_t i, len;

    if (x->fail == PS_FAIL_TOO_LARGE || rc == CURLE_FILESIZE_EXCEEDED) {
        kind = "too_large";
        snprintf(msg, sizeof msg, "response body larger than max_response_bytes (%lu)",
                 (unsigned long)x->conf->max_body);
    } else if (x->fail == PS_FAIL_HEADERS_TOO_LARGE) {
        kind = "too_large";
        snprintf(msg, sizeof msg, "response headers larger than %lu bytes",
                 (unsigned long)MAX_HEADER_BYTES);
    } else if (x->fail == PS_FAIL_NOMEM) {
        snprintf(msg, sizeof msg, "not enough memory to read the answer");
    } else if (rc == CURLE_ABORTED_BY_CALLBACK) {
        /* on_progress is the only callback that aborts this way */
        int sig = ps_signal;
        kind = "interrupted";
        snprintf(msg, sizeof msg, "interrupted by %s",
                 sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal");
    } else {
        if (rc == CURLE_OPERATION_TIMEDOUT)
            kind = "timeout";
        else if (is_tls_error(rc))
            kind = "tls";
        const char *what = curl_easy_strerror(rc);
        /* libcurl's detail often ends with the same words: say them once */
        if (x->errbuf[0] != '\0' && strstr(x->errbuf, what) != NULL)
            snprintf(msg, sizeof msg, "%s", x->errbuf);
        else if (x->errbuf[0] != '\0')
            snprintf(msg, sizeof msg, "%s: %s", what, x->errbuf);
        else
            snprintf(msg, sizeof msg, "%s", what);
    }
    /* One line for people. */
    len = strlen(msg);
    for (i = 0; i < len; i++)
        if (msg[i] == '\r' || msg[i] == '\n')
            msg[i] = ' ';
    while (len > 0 && msg[len - 1] == ' ')
        msg[--len] = '\0';

    lua_createtable(L, 0, 4);
    lua_pushstring(L, kind);
    lua_setfield(L, -2, "kind");
    lua_pushstring(L, msg);
    lua_setfield(L, -2, "message");
    lua_pushboolean(L, request_sent(rc, request_size));
    lua_setfield(L, -2, "request_sent");
    ps_pushint(L, (long)rc);
    lua_setfield(L, -2, "code");
}

/* Pushes the table of headers stored by on_header; repeats are joined. */
static void push_headers(lua_State *L, const ps_buf *h)
{
    const char *p = h->data, *end = h->data + h->len, *q;
    int lines = 0;

    /* sized once: filled from empty, it would be rehashed at 1, 2, 3, 5... */
    for (q = p; q < end && (q = (const char *)memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
        lines++;
    lua_createtable(L, 0, lines);
    while (p < end) {
        const char *nl = (const char *)memchr(p, '\n', (size_t)(end - p));
        const char *colon = (const char *)memchr(p, ':', (size_t)(nl - p));

        lua_pushlstring(L, p, (size_t)(colon - p));
        lua_pushvalue(L, -1);
        lua_rawget(L, -3);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_pushlstring(L, colon + 1, (size_t)(nl - colon - 1));
        } else {
            lua_pushliteral(L, ", ");
            lua_pushlstring(L, colon + 1, (size_t)(nl - colon - 1));
            lua_concat(L, 3);
        }
        lua_rawset(L, -3);
        p = nl + 1;
    }
}

int ps_xfer_push_result(lua_State *L, ps_xfer *x, CURLcode rc, int started)
{
    long status = 0, nconnects = 0, request_size = 0;
    double total_time = 0;
    CURL *c = x->curl;

    if (started)
        curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &request_size);
    if (rc == CURLE_OK && x->fail != PS_FAIL_NONE)
        rc = CURLE_WRITE_ERROR; /* cannot happen: a failing callback stops the transfer */
    if (rc != CURLE_OK) {
        push_terr(L, x, rc, request_size);
        ps_xfer_finish(x);
        return 0;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &nconnects);
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &total_time);

    lua_createtable(L, 0, 5);
    ps_pushint(L, status);
    lua_setfield(L, -2, "status");
    push_headers(L, &x->head);
    lua_setfield(L, -2, "headers");
    lua_pushlstring(L, x->body.data != NULL ? x->body.data : "", x->body.len);
    lua_setfield(L, -2, "body");
    lua_pushboolean(L, nconnects == 0);
    lua_setfield(L, -2, "reused");
    lua_pushnumber(L, (lua_Number)total_time);
    lua_setfield(L, -2, "total_time");
    ps_xfer_finish(x);
    return 1;
}
