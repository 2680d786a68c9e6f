"""Run a command and report its peak resident set size: ``python bench/_maxrss.py CMD ARGS...``.

Started fresh for every measurement, so RUSAGE_CHILDREN holds the command alone (this wrapper's
own memory is RUSAGE_SELF and is not counted). Prints one JSON line: exit code, ru_maxrss in KiB
(Linux units), wall seconds, and the tail of the command's stdout and stderr.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def main() -> None:
    command = sys.argv[1:]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, check=False)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    report = {
        "returncode": done.returncode,
        "maxrss_kib": usage.ru_maxrss,
        "wall_s": wall,
        "stdout_tail": done.stdout[-400:].decode("utf-8", "replace"),
        "stderr_tail": done.stderr[-800:].decode("utf-8", "replace"),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
