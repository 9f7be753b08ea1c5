/*
 * easy_loop: the limit of the bench. One libcurl easy handle, set up once
 * and reused for every request, so every request after the first goes over
 * the same kept-alive connection; the body is collected into a buffer that
 * is reused, the status is checked. Nothing else: what any client over
 * libcurl must spend at least.
 *
 * With "decode", each answer is also parsed as JSON and the quote's fields
 * pulled out as integers (quote_json.h), its add-on checked: the fairer
 * limit for quote(), which does that too.
 *
 *   usage: easy_loop URL N TOTAL WARMUP [decode]
 *   WARMUP requests first (untimed), then N timed ones, then more up to
 *   TOTAL (>= N, for the peak RSS after TOTAL). Prints one line:
 *   result n=N wall=S cpu=S hwm_n=KB hwm_end=KB
 */
#include <curl/curl.h>

#include "common.h"
#include "quote_json.h"

static int decode;
static volatile long long sink; /* the decoded totals, so that nothing is left out */

typedef struct {
    char *data;
    size_t len, cap;
} buf;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    buf *b = (buf *)ud;
    size_t len = size * n;
    if (b->len + len + 1 > b->cap) { /* + 1: room for the NUL after the body */
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + len + 1)
            cap *= 2;
        b->data = (char *)realloc(b->data, cap);
        if (b->data == NULL)
            return 0;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, len);
    b->len += len;
    return len;
}

static int one(CURL *c, buf *b)
{
    long status = 0;
    CURLcode rc;
    b->len = 0;
    rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        fprintf(stderr, "easy_loop: %s\n", curl_easy_strerror(rc));
        return 0;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200 || b->len == 0) {
        fprintf(stderr, "easy_loop: status %ld, %zu bytes\n", status, b->len);
        return 0;
    }
    if (decode) {
        quote_t q;
        b->data[b->len] = '\0';
        if (!quote_decode(b->data, b->len, &q)) {
            fprintf(stderr, "easy_loop: the answer is not a quote: %s\n", q.why ? q.why : "?");
            return 0;
        }
        if (strcmp(q.addon_key, "p0f_slots") != 0) {
            fprintf(stderr, "easy_loop: a quote for add-on %s\n", q.addon_key);
            return 0;
        }
        sink += q.v[Q_ADD_TOTAL];
    }
    return 1;
}

int main(int argc, char **argv)
{
    long n, total, warmup, i, hwm_n;
    double w0, c0, wall, cpu;
    struct curl_slist *headers = NULL;
    buf b = { NULL, 0, 0 };
    CURL *c;

    if (argc != 5 && !(argc == 6 && strcmp(argv[5], "decode") == 0)) {
        fprintf(stderr, "usage: easy_loop URL N TOTAL WARMUP [decode]\n");
        return 2;
    }
    decode = argc == 6;
    n = atol(argv[2]);
    total = atol(argv[3]);
    warmup = atol(argv[4]);
    if (total < n)
        total = n;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    c = curl_easy_init();
    headers = curl_slist_append(headers, BENCH_ACCEPT);
    headers = curl_slist_append(headers, BENCH_USER_AGENT);
    headers = curl_slist_append(headers, BENCH_AUTHORIZATION);
    curl_easy_setopt(c, CURLOPT_URL, argv[1]);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);

    for (i = 0; i < warmup; i++)
        if (!one(c, &b))
            return 1;
    w0 = wall_now();
    c0 = cpu_now();
    for (i = 0; i < n; i++)
        if (!one(c, &b))
            return 1;
    wall = wall_now() - w0;
    cpu = cpu_now() - c0;
    hwm_n = hwm_kb();
    for (i = n; i < total; i++)
        if (!one(c, &b))
            return 1;
    printf("result n=%ld wall=%.6f cpu=%.6f hwm_n=%ld hwm_end=%ld\n", n, wall, cpu, hwm_n, hwm_kb());

    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    free(b.data);
    curl_global_cleanup();
    return 0;
}
