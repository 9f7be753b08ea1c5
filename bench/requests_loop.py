"""Python requests: one requests.Session (a kept-alive connection), GET,
then .json(). The same arguments and result line as the Lua drivers
(bench/lib.lua): URL N TOTAL WARMUP."""
import sys
import time

import requests


def hwm():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def main():
    url, n, total, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    total = max(total, n)
    s = requests.Session()
    headers = {"Accept": "application/json", "User-Agent": "proxyshard-lua/bench (requests)",
               "Authorization": "Bearer bench-token"}

    def step():
        r = s.get(url, headers=headers, timeout=30)
        if r.status_code != 200:
            raise SystemExit("bench driver: status %d" % r.status_code)
        r.json()

    for _ in range(warmup):
        step()
    w0, c0 = time.monotonic(), time.process_time()
    for _ in range(n):
        step()
    wall, cpu = time.monotonic() - w0, time.process_time() - c0
    hwm_n = hwm()
    for _ in range(n, total):
        step()
    print("result n=%d wall=%.6f cpu=%.6f hwm_n=%d hwm_end=%d" % (n, wall, cpu, hwm_n, hwm()))


main()
