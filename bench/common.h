/* Shared by the bench's C programs: clocks, CPU time, VmHWM and VmRSS, and the
 * request headers every client of the bench sends (the same three lines as
 * proxyshard's client: Accept, User-Agent, Authorization). */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#define BENCH_ACCEPT "Accept: application/json"
#define BENCH_USER_AGENT "User-Agent: proxyshard-lua/bench (libcurl loop)"
#define BENCH_AUTHORIZATION "Authorization: Bearer bench-token"

static inline double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* user + system seconds of this process */
static inline double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* A field of /proc/self/status in kB ("VmHWM:", "VmRSS:"), -1 when unknown */
static inline long status_kb(const char *field)
{
    char line[256];
    long kb = -1;
    size_t n = strlen(field);
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, field, n) == 0) {
            kb = strtol(line + n, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

/* VmHWM of this process in kB (peak resident set), -1 when unknown */
static inline long hwm_kb(void)
{
    return status_kb("VmHWM:");
}

/* VmRSS of this process in kB (resident set now), -1 when unknown */
static inline long rss_kb(void)
{
    return status_kb("VmRSS:");
}

#endif
