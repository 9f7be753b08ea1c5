/* A small JSON parser for the bench's "C loop + decode" limit: what a C
 * client must spend at least to read the calculate answer the way quote()
 * does. It parses the whole text as JSON (RFC 8259: objects, arrays,
 * strings with their escapes, numbers, true, false, null; nothing after
 * the value but white space) and pulls the quote's fields out of the top
 * object: success (true), addon_key (a string), and the integers
 * catalog_id, price_per_unit, current_qty, add_qty, new_qty and add_total,
 * each converted with strtoll (a fraction, an exponent or an overflow is
 * refused, as the library refuses a non-integer). It builds no tree: the
 * values of other keys are parsed and skipped.
 *
 *   quote_decode(text, len, &q): 1 when the text is JSON with every field
 *   there and of its type, else 0 (q->why says what was wrong). text[len]
 *   must be readable and not a digit (the loop puts a NUL there): strtoll
 *   stops at the end of the number, which the grammar check has found
 *   first. */
#ifndef BENCH_QUOTE_JSON_H
#define BENCH_QUOTE_JSON_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { Q_CATALOG_ID, Q_PRICE_PER_UNIT, Q_CURRENT_QTY, Q_ADD_QTY, Q_NEW_QTY, Q_ADD_TOTAL, Q_INTS };
static const char *const quote_int_keys[Q_INTS] = {
    "catalog_id", "price_per_unit", "current_qty", "add_qty", "new_qty", "add_total",
};

typedef struct {
    long long v[Q_INTS];
    char addon_key[64];
    int success;
    unsigned seen; /* a bit per integer, Q_INTS + 1 for addon_key, + 2 for success */
    const char *why;
} quote_t;

typedef struct {
    const char *p, *end;
    int depth;
    const char *why;
} jparser;

#define JSON_MAX_DEPTH 64

static inline void j_ws(jparser *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static inline int j_fail(jparser *j, const char *why)
{
    if (j->why == NULL)
        j->why = why;
    return 0;
}

static inline int j_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string at j->p (at its opening quote): its raw bytes between the
 * quotes in *s, *len; *plain is 0 when it holds an escape. */
static int j_string(jparser *j, const char **s, size_t *len, int *plain)
{
    const char *start;
    *plain = 1;
    if (j->p >= j->end || *j->p != '"')
        return j_fail(j, "a string expected");
    start = ++j->p;
    while (j->p < j->end) {
        unsigned char c = (unsigned char)*j->p;
        if (c == '"') {
            *s = start;
            *len = (size_t)(j->p - start);
            j->p++;
            return 1;
        }
        if (c < 0x20)
            return j_fail(j, "a control character in a string");
        if (c == '\\') {
            *plain = 0;
            if (++j->p >= j->end)
                break;
            switch (*j->p) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                j->p++;
                break;
            case 'u':
                if (j->end - j->p < 5 || !j_hex(j->p[1]) || !j_hex(j->p[2]) || !j_hex(j->p[3]) || !j_hex(j->p[4]))
                    return j_fail(j, "a bad \\u escape");
                j->p += 5;
                break;
            default:
                return j_fail(j, "a bad escape");
            }
            continue;
        }
        j->p++;
    }
    return j_fail(j, "an unterminated string");
}

/* A number at j->p, checked against JSON's grammar; *is_int is 1 when it
 * has neither fraction nor exponent, *start where it begins. */
static int j_number(jparser *j, const char **start, int *is_int)
{
    const char *p = j->p, *e = j->end;
    *start = p;
    *is_int = 1;
    if (p < e && *p == '-')
        p++;
    if (p >= e)
        return j_fail(j, "a bad number");
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    else
        return j_fail(j, "a bad number");
    if (p < e && *p == '.') {
        *is_int = 0;
        if (++p >= e || *p < '0' || *p > '9')
            return j_fail(j, "a bad fraction");
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        *is_int = 0;
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || *p < '0' || *p > '9')
            return j_fail(j, "a bad exponent");
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    j->p = p;
    return 1;
}

static int j_literal(jparser *j, const char *word, size_t n)
{
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
        return j_fail(j, "an unexpected character");
    j->p += n;
    return 1;
}

/* Any value, parsed and thrown away. */
static int j_skip(jparser *j)
{
    const char *s;
    size_t len;
    int flag;
    j_ws(j);
    if (j->p >= j->end)
        return j_fail(j, "a value expected");
    switch (*j->p) {
    case '"':
        return j_string(j, &s, &len, &flag);
    case 't':
        return j_literal(j, "true", 4);
    case 'f':
        return j_literal(j, "false", 5);
    case 'n':
        return j_literal(j, "null", 4);
    case '{':
    case '[': {
        char close = *j->p == '{' ? '}' : ']';
        int object = close == '}';
        if (++j->depth > JSON_MAX_DEPTH)
            return j_fail(j, "nested too deep");
        j->p++;
        j_ws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            j->depth--;
            return 1;
        }
        for (;;) {
            if (object) {
                j_ws(j);
                if (!j_string(j, &s, &len, &flag))
                    return 0;
                j_ws(j);
                if (j->p >= j->end || *j->p != ':')
                    return j_fail(j, "':' expected");
                j->p++;
            }
            if (!j_skip(j))
                return 0;
            j_ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == close) {
                j->p++;
                j->depth--;
                return 1;
            }
            return j_fail(j, object ? "',' or '}' expected" : "',' or ']' expected");
        }
    }
    default:
        if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) {
            const char *start;
            int is_int;
            return j_number(j, &start, &is_int);
        }
        return j_fail(j, "an unexpected character");
    }
}

static int quote_decode(const char *text, size_t len, quote_t *q)
{
    jparser j = { text, text + len, 0, NULL };
    const char *key, *s;
    size_t klen, slen;
    int plain, i;

    q->seen = 0;
    q->success = 0;
    q->addon_key[0] = '\0';
    q->why = NULL;
    j_ws(&j);
    if (j.p >= j.end || *j.p != '{') {
        q->why = "not a JSON object";
        return 0;
    }
    j.p++;
    j_ws(&j);
    if (j.p < j.end && *j.p == '}')
        j.p++;
    else
        for (;;) {
            j_ws(&j);
            if (!j_string(&j, &key, &klen, &plain))
                goto bad;
            j_ws(&j);
            if (j.p >= j.end || *j.p != ':') {
                j_fail(&j, "':' expected");
                goto bad;
            }
            j.p++;
            j_ws(&j);
            for (i = 0; i < Q_INTS; i++)
                if (plain && klen == strlen(quote_int_keys[i]) && memcmp(key, quote_int_keys[i], klen) == 0)
                    break;
            if (i < Q_INTS) {
                const char *start;
                char *stop;
                int is_int;
                if (!j_number(&j, &start, &is_int))
                    goto bad;
                if (!is_int) {
                    j_fail(&j, "an integer field is not an integer");
                    goto bad;
                }
                errno = 0;
                q->v[i] = strtoll(start, &stop, 10);
                if (errno != 0 || stop != j.p) {
                    j_fail(&j, errno != 0 ? "an integer out of range" : "a bad number");
                    goto bad;
                }
                q->seen |= 1u << i;
            } else if (plain && klen == 9 && memcmp(key, "addon_key", 9) == 0) {
                if (!j_string(&j, &s, &slen, &plain))
                    goto bad;
                if (!plain || slen >= sizeof q->addon_key) {
                    j_fail(&j, "addon_key is not a plain short string");
                    goto bad;
                }
                memcpy(q->addon_key, s, slen);
                q->addon_key[slen] = '\0';
                q->seen |= 1u << Q_INTS;
            } else if (plain && klen == 7 && memcmp(key, "success", 7) == 0) {
                if (j.p < j.end && *j.p == 't') {
                    if (!j_literal(&j, "true", 4))
                        goto bad;
                    q->success = 1;
                } else if (!j_skip(&j))
                    goto bad;
                q->seen |= 1u << (Q_INTS + 1);
            } else if (!j_skip(&j))
                goto bad;
            j_ws(&j);
            if (j.p < j.end && *j.p == ',') {
                j.p++;
                continue;
            }
            if (j.p < j.end && *j.p == '}') {
                j.p++;
                break;
            }
            j_fail(&j, "',' or '}' expected");
            goto bad;
        }
    j_ws(&j);
    if (j.p != j.end) {
        q->why = "text after the JSON value";
        return 0;
    }
    if (q->seen != (1u << (Q_INTS + 2)) - 1) {
        q->why = "a field of the quote is missing";
        return 0;
    }
    if (!q->success) {
        q->why = "success is not true";
        return 0;
    }
    return 1;
bad:
    q->why = j.why;
    return 0;
}

#endif
