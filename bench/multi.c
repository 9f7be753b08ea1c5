/*
 * multi: TOTAL requests over curl_multi, CONCURRENCY of them in flight at
 * any time: CONCURRENCY easy handles, each put back into the multi handle
 * as soon as its transfer is done (its kept-alive connection is reused
 * from the multi handle's cache). What the 200 quotes at 20 ms can take
 * at the least.
 *
 *   usage: multi URL TOTAL CONCURRENCY
 *   prints: result n=TOTAL wall=S cpu=S ok=K
 */
#include <curl/curl.h>

#include "common.h"

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

int main(int argc, char **argv)
{
    long total, conc, started = 0, done = 0, ok = 0, i;
    double w0, c0;
    struct curl_slist *headers = NULL;
    CURLM *m;
    CURL **easy;
    int running = 0;

    if (argc != 4) {
        fprintf(stderr, "usage: multi URL TOTAL CONCURRENCY\n");
        return 2;
    }
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
    printf("result n=%ld wall=%.6f cpu=%.6f ok=%ld\n", total, wall_now() - w0, cpu_now() - c0, ok);

    for (i = 0; i < conc; i++)
        curl_easy_cleanup(easy[i]);
    free(easy);
    curl_multi_cleanup(m);
    curl_slist_free_all(headers);
    curl_global_cleanup();
    return ok == total ? 0 : 1;
}
