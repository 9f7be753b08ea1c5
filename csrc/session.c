/*
 * session.c - the libcurl transport behind proxyshard.core.session.
 *
 * One CURL easy handle per session, reused by every perform so kept-alive
 * connections are reused (curl_easy_reset keeps the connection cache).
 *
 * No callback given to libcurl touches the Lua state: they only fill C
 * buffers owned by the session, and Lua values are built after
 * curl_easy_perform has returned, so a Lua error can never unwind through
 * libcurl. Because those buffers (and the header list) belong to the
 * session, a memory error while building the result leaks nothing: they are
 * released by the next perform, by close or by __gc.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "core.h"

#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_MAX_RESPONSE_BYTES ((size_t)1 << 20)
/* Headers are not counted against max_response_bytes (a tiny body cap must
 * not reject normal headers) but still need a bound. */
#define MAX_HEADER_BYTES ((size_t)256 << 10)

typedef struct {
    char *data;
    size_t len, cap;
} ps_buf;

enum { FAIL_NONE, FAIL_TOO_LARGE, FAIL_HEADERS_TOO_LARGE, FAIL_NOMEM };

typedef struct {
    CURL *curl;                 /* NULL once closed */
    long timeout_ms;
    long connect_timeout_ms;
    size_t max_body;
    const char *ca_file;        /* NULL or a copy stored after this struct */
    const char *proxy;          /* idem; NULL: no proxy at all */
    const char *no_proxy;       /* idem; NULL: no exception */

    /* Per-perform state, see the note at the top. */
    struct curl_slist *headers;
    ps_buf body;                /* response body */
    ps_buf head;                /* final response's headers, "name:value\n" */
    int fail;                   /* FAIL_* set by a callback that aborted */
    const char *up_data;        /* no_resend body, anchored on the Lua stack */
    size_t up_len, up_pos;
    char errbuf[CURL_ERROR_SIZE];
} ps_session;

/* ---- buffers ---------------------------------------------------------- */

static int buf_append(ps_buf *b, const char *p, size_t n)
{
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 4096;
        char *data;
        while (cap - b->len < n) {
            if (cap > ((size_t)-1) / 2)
                return 0;
            cap *= 2;
        }
        data = (char *)realloc(b->data, cap);
        if (data == NULL)
            return 0;
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 1;
}

static void buf_free(ps_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static void free_perform_state(ps_session *s)
{
    curl_slist_free_all(s->headers);
    s->headers = NULL;
    buf_free(&s->body);
    buf_free(&s->head);
    s->fail = FAIL_NONE;
    s->up_data = NULL;
    s->up_len = s->up_pos = 0;
}

/* ---- libcurl callbacks (no Lua API in here) --------------------------- */

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
    ps_session *s = (ps_session *)ud;
    size_t n = size * nmemb;

    if (n > s->max_body - s->body.len) {
        s->fail = FAIL_TOO_LARGE;
        return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
    }
    if (!buf_append(&s->body, p, n)) {
        s->fail = FAIL_NOMEM;
        return 0;
    }
    return n;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * Stores each header line of the last response as "name:value\n", name
 * lower-cased and value trimmed. A status line starts a new response
 * (e.g. after "100 Continue"), so it drops what was stored so far.
 */
static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    ps_session *s = (ps_session *)ud;
    size_t n = size * nmemb, len = n, i, colon;
    int ok = 1;

    while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == '\n'))
        len--;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        s->head.len = 0;
        return n;
    }
    if (len == 0)
        return n;
    if (len + 2 > MAX_HEADER_BYTES - s->head.len) {
        s->fail = FAIL_HEADERS_TOO_LARGE;
        return 0;
    }

    if (is_space(p[0])) {
        /* Obsolete line folding: continue the previous header's value. */
        if (s->head.len == 0)
            return n;
        for (i = 0; i < len && is_space(p[i]); i++)
            ;
        if (i == len)
            return n;
        s->head.len--; /* drop the previous '\n' */
        if (s->head.data[s->head.len - 1] != ':')
            ok = buf_append(&s->head, " ", 1);
        ok = ok && buf_append(&s->head, p + i, len - i) && buf_append(&s->head, "\n", 1);
    } else {
        const char *v;
        size_t vlen, start;

        for (colon = 0; colon < len && p[colon] != ':'; colon++)
            ;
        if (colon == len || colon == 0)
            return n; /* not a header line: ignore it */
        start = s->head.len;
        ok = buf_append(&s->head, p, colon);
        for (i = start; ok && i < s->head.len; i++) {
            char c = s->head.data[i];
            if (c >= 'A' && c <= 'Z')
                s->head.data[i] = (char)(c - 'A' + 'a');
        }
        while (ok && s->head.len > start && is_space(s->head.data[s->head.len - 1]))
            s->head.len--;
        v = p + colon + 1;
        vlen = len - colon - 1;
        while (vlen > 0 && is_space(*v))
            v++, vlen--;
        while (vlen > 0 && is_space(v[vlen - 1]))
            vlen--;
        ok = ok && buf_append(&s->head, ":", 1) && buf_append(&s->head, v, vlen) &&
             buf_append(&s->head, "\n", 1);
    }
    if (!ok) {
        s->fail = FAIL_NOMEM;
        return 0;
    }
    return n;
}

static size_t on_read(char *dst, size_t size, size_t nmemb, void *ud)
{
    ps_session *s = (ps_session *)ud;
    size_t n = size * nmemb, left = s->up_len - s->up_pos;

    if (n > left)
        n = left;
    memcpy(dst, s->up_data + s->up_pos, n);
    s->up_pos += n;
    return n;
}

/*
 * libcurl rewinds the body only to send the request again, e.g. when a
 * reused keep-alive connection died before any answer byte
 * (Curl_retry_request). Refusing turns that silent resend into
 * CURLE_SEND_FAIL_REWIND.
 */
static int on_seek(void *ud, curl_off_t offset, int origin)
{
    (void)ud;
    (void)offset;
    (void)origin;
    return CURL_SEEKFUNC_FAIL;
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

/* An optional string field of opts (or NULL); no CR/LF/NUL. Leaves the
 * value on the stack so the pointer stays valid. */
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

/* ---- core.session(opts) ----------------------------------------------- */

int ps_session_new(lua_State *L)
{
    long timeout_ms = DEFAULT_TIMEOUT_MS, connect_ms = DEFAULT_CONNECT_TIMEOUT_MS;
    size_t max_body = DEFAULT_MAX_RESPONSE_BYTES, ca_len = 0;
    size_t px_len = 0, np_len = 0;
    const char *ca = NULL, *px = NULL, *np = NULL;
    ps_session *s;
    char *extra;

    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);

    lua_getfield(L, 1, "timeout_ms");                          /* 2 */
    timeout_ms = opt_ms(L, 2, timeout_ms, 1, "timeout_ms");
    lua_getfield(L, 1, "connect_timeout_ms");                  /* 3 */
    connect_ms = opt_ms(L, 3, connect_ms, 1, "connect_timeout_ms");
    lua_getfield(L, 1, "max_response_bytes");                  /* 4 */
    if (!lua_isnil(L, 4)) {
        int64_t v = 0;
        int negzero;
        if (!ps_tocents(L, 4, &v, &negzero) || v < 1 || (uint64_t)v > (size_t)-1)
            luaL_argerror(L, 1, "max_response_bytes must be a positive integer");
        max_body = (size_t)v;
    }
    ca = opt_string(L, 1, "ca_file", &ca_len);                 /* 5 */
    px = opt_string(L, 1, "proxy", &px_len);                   /* 6 */
    if (px != NULL && !is_proxy_url(px))
        luaL_argerror(L, 1, "proxy must be a URL with a scheme among http, https, "
                            "socks4, socks4a, socks5, socks5h");
    np = opt_string(L, 1, "no_proxy", &np_len);                /* 7 */

    /* The strings live in the same block, after the struct. */
    s = (ps_session *)lua_newuserdata(L, sizeof *s + ca_len + 1 +
                                             px_len + 1 + np_len + 1);
    memset(s, 0, sizeof *s);
    extra = (char *)(s + 1);
    s->timeout_ms = timeout_ms;
    s->connect_timeout_ms = connect_ms;
    s->max_body = max_body;
    if (ca != NULL) {
        memcpy(extra, ca, ca_len + 1);
        s->ca_file = extra;
        extra += ca_len + 1;
    }
    if (px != NULL) {
        memcpy(extra, px, px_len + 1);
        s->proxy = extra;
        extra += px_len + 1;
    }
    if (np != NULL) {
        memcpy(extra, np, np_len + 1);
        s->no_proxy = extra;
    }
    luaL_getmetatable(L, PS_SESSION_MT);
    lua_setmetatable(L, -2);

    s->curl = curl_easy_init();
    if (s->curl == NULL)
        return luaL_error(L, "proxyshard.core: curl_easy_init failed");
    return 1;
}

/* ---- session:perform(req) --------------------------------------------- */

static ps_session *check_open(lua_State *L)
{
    ps_session *s = (ps_session *)luaL_checkudata(L, 1, PS_SESSION_MT);

    if (s->curl == NULL)
        luaL_error(L, "session is closed");
    return s;
}

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
 * the request bytes written during this perform, including attempts libcurl
 * retried itself, so a code that normally means "never left" is trusted
 * only when it is 0. Everything else is assumed sent.
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
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return 0;
    case CURLE_SSL_SHUTDOWN_FAILED:
        return 1;
    default:
        return is_tls_error(rc) ? 0 : 1;
    }
}

/* Returns nil, terr. The message is built before anything is pushed. */
static int push_terr(lua_State *L, ps_session *s, CURLcode rc, long request_size)
{
    const char *kind = "network";
    char msg[CURL_ERROR_SIZE + 160];
    size_t i, len;

    if (s->fail == FAIL_TOO_LARGE || rc == CURLE_FILESIZE_EXCEEDED) {
        kind = "too_large";
        snprintf(msg, sizeof msg, "response body larger than max_response_bytes (%lu)",
                 (unsigned long)s->max_body);
    } else if (s->fail == FAIL_HEADERS_TOO_LARGE) {
        kind = "too_large";
        snprintf(msg, sizeof msg, "response headers larger than %lu bytes",
                 (unsigned long)MAX_HEADER_BYTES);
    } else {
        if (rc == CURLE_OPERATION_TIMEDOUT)
            kind = "timeout";
        else if (is_tls_error(rc))
            kind = "tls";
        if (s->errbuf[0] != '\0')
            snprintf(msg, sizeof msg, "%s: %s", curl_easy_strerror(rc), s->errbuf);
        else
            snprintf(msg, sizeof msg, "%s", curl_easy_strerror(rc));
    }
    /* One line for people. */
    len = strlen(msg);
    for (i = 0; i < len; i++)
        if (msg[i] == '\r' || msg[i] == '\n')
            msg[i] = ' ';
    while (len > 0 && msg[len - 1] == ' ')
        msg[--len] = '\0';
    free_perform_state(s);

    lua_pushnil(L);
    lua_createtable(L, 0, 4);
    lua_pushstring(L, kind);
    lua_setfield(L, -2, "kind");
    lua_pushstring(L, msg);
    lua_setfield(L, -2, "message");
    lua_pushboolean(L, request_sent(rc, request_size));
    lua_setfield(L, -2, "request_sent");
    ps_pushint(L, (long)rc);
    lua_setfield(L, -2, "code");
    return 2;
}

/* Pushes the table of headers stored by on_header; repeats are joined. */
static void push_headers(lua_State *L, const ps_buf *h)
{
    const char *p = h->data, *end = h->data + h->len;

    lua_newtable(L);
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

static int append_header(ps_session *s, const char *line)
{
    struct curl_slist *l = curl_slist_append(s->headers, line);

    if (l == NULL)
        return 0;
    s->headers = l;
    return 1;
}

enum { REQ = 2, F_METHOD, F_URL, F_HEADERS, F_BODY, F_NO_RESEND, F_TIMEOUT, F_CONNECT };

static int session_perform(lua_State *L)
{
    static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", NULL };
    enum { M_GET, M_POST, M_PUT, M_PATCH, M_DELETE };
    ps_session *s = check_open(L);
    const char *url, *body = NULL;
    size_t url_len, body_len = 0, nheaders = 0, i;
    int method, no_resend, has_ctype = 0, post_like;
    long timeout_ms, connect_ms, status = 0, nconnects = 0, request_size = 0;
    double total_time = 0;
    CURLcode rc = CURLE_OK;
    CURL *c;

    luaL_checktype(L, REQ, LUA_TTABLE);
    lua_settop(L, REQ);
    /* Leftovers of a perform whose result building raised. */
    free_perform_state(s);

    /* Fields stay on the stack until the end: url and body are handed to
     * libcurl without copies. */
    lua_getfield(L, REQ, "method");
    method = -1;
    if (lua_type(L, F_METHOD) == LUA_TSTRING)
        for (method = 0; methods[method] != NULL; method++)
            if (strcmp(methods[method], lua_tostring(L, F_METHOD)) == 0)
                break;
    if (method < 0 || methods[method] == NULL)
        luaL_argerror(L, REQ, "req.method must be one of GET, POST, PUT, PATCH, DELETE");

    lua_getfield(L, REQ, "url");
    if (lua_type(L, F_URL) != LUA_TSTRING)
        luaL_argerror(L, REQ, "req.url must be a string");
    url = lua_tolstring(L, F_URL, &url_len);
    if (!is_clean_line(url, url_len))
        luaL_argerror(L, REQ, "req.url must not contain CR, LF or NUL");

    lua_getfield(L, REQ, "headers");
    if (!lua_isnil(L, F_HEADERS)) {
        if (!lua_istable(L, F_HEADERS))
            luaL_argerror(L, REQ, "req.headers must be an array of strings");
        nheaders = lua_rawlen(L, F_HEADERS);
        for (i = 1; i <= nheaders; i++) {
            const char *h;
            size_t hlen;
            lua_rawgeti(L, F_HEADERS, (int)i);
            if (lua_type(L, -1) != LUA_TSTRING)
                luaL_argerror(L, REQ, lua_pushfstring(L, "req.headers[%d] must be a string", (int)i));
            h = lua_tolstring(L, -1, &hlen);
            if (!is_clean_line(h, hlen))
                luaL_argerror(L, REQ, lua_pushfstring(L,
                    "req.headers[%d] must not contain CR, LF or NUL", (int)i));
            if (hlen >= 13 && strncasecmp(h, "content-type:", 13) == 0)
                has_ctype = 1;
            lua_pop(L, 1);
        }
    }

    lua_getfield(L, REQ, "body");
    if (!lua_isnil(L, F_BODY)) {
        if (lua_type(L, F_BODY) != LUA_TSTRING)
            luaL_argerror(L, REQ, "req.body must be a string or nil");
        body = lua_tolstring(L, F_BODY, &body_len);
    }
    if (method == M_GET && body_len > 0)
        luaL_argerror(L, REQ, "a GET request cannot carry a body");

    lua_getfield(L, REQ, "no_resend");
    no_resend = lua_toboolean(L, F_NO_RESEND);
    lua_getfield(L, REQ, "timeout_ms");
    timeout_ms = opt_ms(L, F_TIMEOUT, s->timeout_ms, REQ, "req.timeout_ms");
    lua_getfield(L, REQ, "connect_timeout_ms");
    connect_ms = opt_ms(L, F_CONNECT, s->connect_timeout_ms, REQ, "req.connect_timeout_ms");

    /* POST, PUT and PATCH always carry a body ("" when nil) so that
     * Content-Length is sent; DELETE only when one is given. */
    post_like = method == M_POST || method == M_PUT || method == M_PATCH ||
                (method == M_DELETE && body != NULL);
    if (post_like && body == NULL)
        body = "";

    /* The header list is owned by the session: a memory error raised here
     * leaves nothing behind. */
    for (i = 1; i <= nheaders; i++) {
        int ok;
        lua_rawgeti(L, F_HEADERS, (int)i);
        ok = append_header(s, lua_tostring(L, -1));
        lua_pop(L, 1);
        if (!ok)
            return luaL_error(L, "not enough memory");
    }
    /* No "Expect: 100-continue" round trip, and no libcurl default
     * Content-Type on bodies the caller did not label. */
    if (!append_header(s, "Expect:") ||
        (post_like && !has_ctype && !append_header(s, "Content-Type:")))
        return luaL_error(L, "not enough memory");

    c = s->curl;
    curl_easy_reset(c); /* keeps the connection cache */
    s->errbuf[0] = '\0';

#define SETOPT(opt, val)                               \
    do {                                               \
        if (rc == CURLE_OK)                            \
            rc = curl_easy_setopt(c, (opt), (val));    \
    } while (0)

    SETOPT(CURLOPT_ERRORBUFFER, s->errbuf);
    SETOPT(CURLOPT_URL, url);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_TIMEOUT_MS, timeout_ms);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    SETOPT(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
    if (s->ca_file != NULL)
        SETOPT(CURLOPT_CAINFO, s->ca_file);
    /* Proxies only when asked for: an empty CURLOPT_PROXY makes libcurl
     * ignore http_proxy, https_proxy, ALL_PROXY..., and an empty
     * CURLOPT_NOPROXY keeps it from reading no_proxy/NO_PROXY, which would
     * otherwise switch the chosen proxy off behind our back. Our headers
     * (Authorization) go to the server only, never into a CONNECT to the
     * proxy. The scheme of the URL gives the proxy type. */
    SETOPT(CURLOPT_PROXY, s->proxy != NULL ? s->proxy : "");
    SETOPT(CURLOPT_NOPROXY, s->no_proxy != NULL ? s->no_proxy : "");
    SETOPT(CURLOPT_HEADEROPT, (long)CURLHEADER_SEPARATE);
#if LIBCURL_VERSION_NUM >= 0x073400 /* 7.52.0: https:// proxies */
    if (s->proxy != NULL) {
        /* An https:// proxy is verified like the API, against ca_file
         * when one is given. */
        SETOPT(CURLOPT_PROXY_SSL_VERIFYPEER, 1L);
        SETOPT(CURLOPT_PROXY_SSL_VERIFYHOST, 2L);
        if (s->ca_file != NULL)
            SETOPT(CURLOPT_PROXY_CAINFO, s->ca_file);
    }
#endif
    SETOPT(CURLOPT_ACCEPT_ENCODING, "");
    SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s->max_body);
    SETOPT(CURLOPT_WRITEFUNCTION, on_write);
    SETOPT(CURLOPT_WRITEDATA, (void *)s);
    SETOPT(CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(CURLOPT_HEADERDATA, (void *)s);
    SETOPT(CURLOPT_HTTPHEADER, s->headers);

    if (method == M_GET)
        SETOPT(CURLOPT_HTTPGET, 1L);
    else if (method != M_POST)
        SETOPT(CURLOPT_CUSTOMREQUEST, methods[method]);
    if (post_like) {
        SETOPT(CURLOPT_POST, 1L);
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        if (no_resend && body_len > 0) {
            /* Through the read callback with a seek callback that refuses
             * to rewind: libcurl then cannot resend the body. */
            s->up_data = body;
            s->up_len = body_len;
            s->up_pos = 0;
            SETOPT(CURLOPT_READFUNCTION, on_read);
            SETOPT(CURLOPT_READDATA, (void *)s);
            SETOPT(CURLOPT_SEEKFUNCTION, on_seek);
            SETOPT(CURLOPT_SEEKDATA, (void *)s);
        } else {
            SETOPT(CURLOPT_POSTFIELDS, body);
        }
    }
    /* With no body byte to rewind, libcurl would resend without asking
     * (Curl_retry_request rewinds only when body bytes were written), so
     * such requests never go over a reused connection. */
    if (no_resend && body_len == 0)
        SETOPT(CURLOPT_FRESH_CONNECT, 1L);
#undef SETOPT

    if (rc != CURLE_OK)
        return push_terr(L, s, rc, 0);

    rc = curl_easy_perform(c);

    curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &request_size);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    curl_slist_free_all(s->headers);
    s->headers = NULL;

    if (s->fail == FAIL_NOMEM) {
        free_perform_state(s);
        return luaL_error(L, "not enough memory");
    }
    if (rc != CURLE_OK)
        return push_terr(L, s, rc, request_size);

    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &nconnects);
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &total_time);

    lua_createtable(L, 0, 5);
    ps_pushint(L, status);
    lua_setfield(L, -2, "status");
    push_headers(L, &s->head);
    lua_setfield(L, -2, "headers");
    lua_pushlstring(L, s->body.data != NULL ? s->body.data : "", s->body.len);
    lua_setfield(L, -2, "body");
    lua_pushboolean(L, nconnects == 0);
    lua_setfield(L, -2, "reused");
    lua_pushnumber(L, (lua_Number)total_time);
    lua_setfield(L, -2, "total_time");
    free_perform_state(s);
    return 1;
}

/* ---- close / __gc / __close, __tostring ------------------------------- */

/* Idempotent: close(), __gc and __close all end up here. */
static int session_close(lua_State *L)
{
    ps_session *s = (ps_session *)luaL_checkudata(L, 1, PS_SESSION_MT);

    free_perform_state(s);
    if (s->curl != NULL) {
        curl_easy_cleanup(s->curl);
        s->curl = NULL;
    }
    return 0;
}

static int session_tostring(lua_State *L)
{
    ps_session *s = (ps_session *)luaL_checkudata(L, 1, PS_SESSION_MT);

    lua_pushstring(L, s->curl != NULL ? PS_SESSION_MT " (open)" : PS_SESSION_MT " (closed)");
    return 1;
}

static const luaL_Reg session_methods[] = {
    { "perform", session_perform },
    { "close", session_close },
    { NULL, NULL }
};

static const luaL_Reg session_meta[] = {
    { "__gc", session_close },
    { "__close", session_close },
    { "__tostring", session_tostring },
    { NULL, NULL }
};

void ps_session_init_metatable(lua_State *L)
{
    if (luaL_newmetatable(L, PS_SESSION_MT)) {
        luaL_setfuncs(L, session_meta, 0);
        luaL_newlib(L, session_methods);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
}
