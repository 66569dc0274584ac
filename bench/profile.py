"""`make profile OPERATION=retrieve`: where one operation's time goes. Starts the server
as `make bench` does, loads it with wrk and samples it with py-spy meanwhile, then prints
the functions that hold the most samples: inclusive (on the stack) and self (on top).
`APP=ceiling` profiles the ceiling app instead."""

import collections
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.__main__ import OPERATIONS, SECONDS, prepare, run_operation, servers_stopped, wrk

TOP = int(os.environ.get("TOP", "30"))


def main() -> int:
    operation = os.environ.get("OPERATION", "retrieve")
    app = os.environ.get("APP", "api")
    if operation not in OPERATIONS:
        raise SystemExit(f"OPERATION must be one of {', '.join(OPERATIONS)}")
    folder = Path(tempfile.mkdtemp(prefix="plex-profile-"))
    with servers_stopped() as servers:
        base = prepare(folder, servers, apps=(app,))[app]
        wrk(base + "s1/", seconds=2)  # warm-up
        raw = folder / "stacks.txt"
        sampler = subprocess.Popen(
            # --gil: only the thread holding the GIL, which is where CPU time goes.
            [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(servers[app].pid),
             "--format", "raw", "--gil", "--rate", "500", "--duration", str(SECONDS),
             "--output", str(raw), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        result = run_operation(base, operation, "p", servers[app], servers.databases[app])
        sampler.wait(timeout=SECONDS + 30)
    print(f"# {app} {operation}, while sampled: {result['rps']:.0f} req/s, "
          f"{result['cpu_us']:.0f} µs of CPU per answer")  # fmt: skip
    report(raw.read_text())
    return 0


def report(stacks: str) -> None:
    """Inclusive and self sample shares per function, from py-spy's collapsed stacks,
    counting only threads that were running Python (idle event-loop waits excluded)."""
    inclusive: collections.Counter = collections.Counter()
    own: collections.Counter = collections.Counter()
    total = 0
    for line in stacks.splitlines():
        frames, _, count = line.rpartition(" ")
        if not count.isdigit():  # a frame name py-spy broke over two lines
            continue
        names = [frame.split(" (")[0] + " " + _where(frame) for frame in frames.split(";")[1:]]
        if not names or any(idle in names[-1] for idle in ("select ", "wait ", "_worker ")):
            continue
        samples = int(count)
        total += samples
        own[names[-1]] += samples
        for name in set(names):
            inclusive[name] += samples
    print(f"{total} busy samples\n\n# inclusive")
    for name, samples in inclusive.most_common(TOP):
        print(f"{100 * samples / total:6.1f}%  {name}")
    print("\n# self")
    for name, samples in own.most_common(TOP):
        print(f"{100 * samples / total:6.1f}%  {name}")


def _where(frame: str) -> str:
    """`(connexion/middleware/security.py:42)` from py-spy's `name (path:line)`."""
    location = frame.rpartition(" (")[2].rstrip(")")
    path, _, line = location.rpartition(":")
    parts = Path(path).parts
    short = "/".join(parts[parts.index("site-packages") + 1 :] if "site-packages" in parts
                     else parts[-2:])  # fmt: skip
    return f"({short})"


if __name__ == "__main__":
    sys.exit(main())
