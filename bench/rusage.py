"""``python -S bench/rusage.py OUT CMD...``: run CMD; write its pid, then its rusage, to OUT.

Why a launcher: the peak RSS ``wait4`` reports for a child includes the RSS of the process
it was forked from, as it was at the fork, because Linux keeps a process's high-water mark
across ``exec``. The benchmark's own process grows as it runs (the fake control plane keeps
every call), so a tool started straight from it would be charged the benchmark's size: a
10,000-file run showed the re-run of a sync at 175 MiB, the benchmark's own RSS at that
moment. Started from this small process (about 10 MB, standard library only), the tool's
peak is its own. CMD inherits stdin, stdout, stderr and the environment.

OUT gets ``{"pid": N}`` as soon as CMD runs (so a caller can signal the tool itself), then
``{"pid", "exit_code", "wall_s", "cpu_s", "peak_rss_kib"}`` once it has exited.
"""

import json
import os
import sys
import time


def main() -> int:
    out, cmd = sys.argv[1], sys.argv[2:]
    started = time.monotonic()
    pid = os.posix_spawnp(cmd[0], cmd, os.environ)
    with open(out, "w") as fh:
        json.dump({"pid": pid}, fh)
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - started
    divisor = 1024 if sys.platform == "darwin" else 1  # bytes there, KiB on Linux
    result = {
        "pid": pid,
        "exit_code": os.waitstatus_to_exitcode(status),
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_kib": usage.ru_maxrss // divisor,
    }
    with open(out + ".tmp", "w") as fh:
        json.dump(result, fh)
    os.replace(out + ".tmp", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
