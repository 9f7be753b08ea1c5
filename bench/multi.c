/*
 * multi: TOTAL requests over curl_multi, CONCURRENCY of them in flight at
 * any time: CONCURRENCY easy handles, each put back into the multi handle
 * as soon as its transfer is done (its kept-alive connection is reused
 * from the multi handle's cache). What the quotes at 20 ms through
 * client:map can take at the least (time), and hold (memory).
 *
 *   usage: multi URL TOTAL CONCURRENCY [mem]
 *   prints: result n=TOTAL wall=S cpu=S ok=K
 * With "mem", one request first on an easy handle of its own (libcurl's
 * lazy set-up done, as the Lua side's warm-up quote does), then VmRSS
 * (rss_before), then the TOTAL requests, then VmHWM (the peak since the
 * start): result ... rss_before=KB hwm=KB, and (hwm - rss_before) /
 * CONCURRENCY is what each request in flight holds.
 */
#include <curl/curl.h>

#include "common.h"

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* One request on an easy handle of its own, then cleaned up: 1 when 200. */
static int warm_up(const char *url, struct curl_slist *headers)
{
    long status = 0;
    CURLcode rc;
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
    rc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(e);
    if (rc != CURLE_OK || status != 200) {
        fprintf(stderr, "multi: warm-up: %s, status %ld\n", curl_easy_strerror(rc), status);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    long total, conc, started = 0, done = 0, ok = 0, i, rss_before = -1;
    int mem;
    double w0, c0;
    struct curl_slist *headers = NULL;
    CURLM *m;
    CURL **easy;
    int running = 0;

    if (argc != 4 && !(argc == 5 && strcmp(argv[4], "mem") == 0)) {
        fprintf(stderr, "usage: multi URL TOTAL CONCURRENCY [mem]\n");
        return 2;
    }
    mem = argc == 5;
    total = atol(argv[2]);
    conc = atol(argv[3]);
    if (conc > total)
        conc = total;
    if (conc < 1)
        return 2;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    headers = curl_slist_append(headers, BENCH_ACCEPT);
    headers = curl_slist_append(headers, BENCH_USER_AGENT);
    headers = curl_slist_append(headers, BENCH_AUTHORIZATION);
    if (mem) {
        if (!warm_up(argv[1], headers))
            return 1;
        rss_before = rss_kb();
    }
    m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, conc);
    easy = (CURL **)calloc((size_t)conc, sizeof *easy);

    w0 = wall_now();
    c0 = cpu_now();
    for (i = 0; i < conc; i++) {
        easy[i] = curl_easy_init();
        curl_easy_setopt(easy[i], CURLOPT_URL, argv[1]);
        curl_easy_setopt(easy[i], CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(easy[i], CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy[i], CURLOPT_TIMEOUT_MS, 30000L);
        curl_multi_add_handle(m, easy[i]);
        started++;
    }
    while (done < total) {
        CURLMsg *msg;
        int left;
        curl_multi_perform(m, &running);
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            long status = 0;
            CURL *e;
            if (msg->msg != CURLMSG_DONE)
                continue;
            e = msg->easy_handle;
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
            if (msg->data.result == CURLE_OK && status == 200)
                ok++;
            else
                fprintf(stderr, "multi: %s, status %ld\n", curl_easy_strerror(msg->data.result), status);
            done++;
            curl_multi_remove_handle(m, e);
            if (started < total) {
                curl_multi_add_handle(m, e);
                started++;
            }
        }
        if (done < total)
            curl_multi_poll(m, NULL, 0, 1000, NULL);
    }
    if (mem)
        printf("result n=%ld wall=%.6f cpu=%.6f ok=%ld rss_before=%ld hwm=%ld\n", total, wall_now() - w0,
               cpu_now() - c0, ok, rss_before, hwm_kb());
    else
        printf("result n=%ld wall=%.6f cpu=%.6f ok=%ld\n", total, wall_now() - w0, cpu_now() - c0, ok);

    for (i = 0; i < conc; i++)
        curl_easy_cleanup(easy[i]);
    free(easy);
    curl_multi_cleanup(m);
    curl_slist_free_all(headers);
    curl_global_cleanup();
    return ok == total ? 0 : 1;
}
