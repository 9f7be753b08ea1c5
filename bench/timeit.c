/*
 * timeit: run a command once and say what it took: wall seconds, CPU
 * seconds (user + system, from wait4's rusage) and peak RSS (ru_maxrss,
 * kB). For the rows the bench cannot time from inside (the curl CLI) and
 * for the cold-start times. The command's stdout goes to /dev/null (the
 * curl CLI writes every body there); its stderr is left as it is.
 *
 *   usage: timeit COMMAND [ARGS...]
 *   prints: result wall=S cpu=S maxrss=KB status=N
 */
#include <fcntl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

int main(int argc, char **argv)
{
    struct rusage ru;
    double w0, wall;
    int st = 0;
    pid_t pid;

    if (argc < 2) {
        fprintf(stderr, "usage: timeit COMMAND [ARGS...]\n");
        return 2;
    }
    fflush(stdout);
    w0 = wall_now();
    pid = fork();
    if (pid < 0) {
        perror("timeit: fork");
        return 2;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null < 0 || dup2(null, 1) < 0) {
            perror("timeit: /dev/null");
            _exit(127);
        }
        close(null);
        execvp(argv[1], argv + 1);
        perror("timeit: exec");
        _exit(127);
    }
    if (wait4(pid, &st, 0, &ru) < 0) {
        perror("timeit: wait4");
        return 2;
    }
    wall = wall_now() - w0;
    printf("result wall=%.6f cpu=%.6f maxrss=%ld status=%d\n", wall,
           (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
           ru.ru_maxrss, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
