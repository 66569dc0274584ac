"""`make bench`, under load of other kinds (printed, never asserted):

- bulkhead: an authenticated list's latency idle, then while 60 anonymous Plex logins
  are held by a plex.tv stand-in that accepts connections and never answers;
- soak: a minute of mixed list, retrieve and create load, with the server's memory
  after warm-up and at the end.
"""

import contextlib
import os
import socket
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.__main__ import memory_kib, prepare, servers_stopped, wrk

HELD_LOGINS = 60
SOAK_SECONDS = int(os.environ.get("BENCH_SOAK_SECONDS", "60"))
MIXED = """
local n = 0
request = function()
  n = n + 1
  local pick = n % 10
  if pick < 4 then return wrk.format("GET", wrk.path .. "?page_size=20") end
  if pick < 8 then return wrk.format("GET", wrk.path .. "s" .. (n % 1000) .. "/") end
  local slug = "PREFIX" .. n
  local body = '{"name":"Soak ' .. slug .. '","slug":"' .. slug .. '","plex_token":"t"}'
  return wrk.format("POST", nil, nil, body)
end
"""


class SilentPlex:
    """A plex.tv that accepts every connection and never answers."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.held.append(connection)

    def close(self):
        self.listener.close()
        for connection in self.held:
            connection.close()


def bulkhead(folder: Path) -> None:
    silent = SilentPlex()
    env = {"PLEX_API_URL": silent.url, "PLEX_TIMEOUT": "120", "PLEX_CONCURRENCY": "64"}
    with servers_stopped() as servers:
        base = prepare(folder, servers, ("api",), suffix="-bulkhead", env=env)["api-bulkhead"]
        wrk(base + "?page_size=20", seconds=1)  # warm-up
        idle = wrk(base + "?page_size=20")
        redeem = base + "redeem_token/?slug=s1"
        for _ in range(HELD_LOGINS):
            threading.Thread(target=_held_login, args=(redeem,), daemon=True).start()
        deadline = time.monotonic() + 10
        while len(silent.held) < HELD_LOGINS and time.monotonic() < deadline:
            time.sleep(0.05)
        held = len(silent.held)
        busy = wrk(base + "?page_size=20")
        # One more login past the capacity would be a prompt 503; these 60 are inside it.
        print(f"bulkhead list   idle p50/p99 {idle['p50']:.1f}/{idle['p99']:.1f} ms, "
              f"{idle['rps']:.0f} req/s; with {held} logins held by a silent plex.tv: "
              f"{busy['p50']:.1f}/{busy['p99']:.1f} ms, {busy['rps']:.0f} req/s "
              f"(p99 {busy['p99'] / idle['p99']:.2f}x)")  # fmt: skip
    silent.close()


def _held_login(url: str) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the server stops first
        httpx.post(url, json={"plex_token": "held"}, timeout=150)


def soak(folder: Path) -> None:
    with servers_stopped() as servers:
        base = prepare(folder, servers, ("api",), suffix="-soak")["api-soak"]
        wrk(base, MIXED.replace("PREFIX", "warm-"), seconds=5, expected=0)  # warm-up
        warm = memory_kib(servers["api-soak"])[0]
        result = wrk(base, MIXED.replace("PREFIX", "soak-"), seconds=SOAK_SECONDS, expected=0)
        end, peak = memory_kib(servers["api-soak"])
        print(f"soak            {SOAK_SECONDS}s of 4 list : 4 retrieve : 2 create, "
              f"{result['rps']:.0f} req/s; RSS {warm / 1024:.0f} MiB after warm-up, "
              f"{end / 1024:.0f} MiB at the end ({end / warm - 1:+.1%}), "
              f"peak {peak / 1024:.0f} MiB; {result['bad']} answers of 400 or more")  # fmt: skip


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="plex-bench-conditions-"))
    bulkhead(folder)
    soak(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
