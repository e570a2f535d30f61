"""HTTP load test: short-text moderation (and 1080p images) through ``winnow serve`` on loopback.

Run: ``make bench-service`` (or ``python benchmarks/bench_service.py``). This process is the load
generator; the server is a separate ``winnow serve`` process on a fresh SQLite database, with its
own key (rate limit raised for the test). The load is open-loop: requests are sent on a fixed
schedule over keep-alive connections whatever the answers, and each latency is measured from the
moment its request was *due*, so a stalled server cannot hide its stall (no coordinated omission).
The server's resident memory is sampled every second.

Every request is checked: a non-2xx answer or a body without a verdict counts as an error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
PHOTO = DATA / "media-benign-cc0-mdn" / "images" / "examples__ice-cream.jpg"
WINNOW = Path(sys.executable).with_name("winnow")

TEXTS = [
    "Thanks for the quick delivery, the jacket fits perfectly!",
    "Does anyone know when the next meetup is? I'd love to join.",
    "This is the worst take I've read all week, honestly.",
    "Selling my old bike, barely used, message me here for details.",
    "The recipe worked great, I added a bit more garlic.",
    "Can a moderator look at the thread about the tournament rules?",
    "lol that goal in the 89th minute was unbelievable",
    "I disagree with the new policy but I understand why it changed.",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sent: int = 0


def _request(port: int, key: str, body: bytes, content_type: str) -> bytes:
    return (
        f"POST /v1/scans HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _connection(
    port: int, requests: list[bytes], start: float, interval: float, offset: float,
    count: int, run: Run,
) -> None:  # fmt: skip
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    clock = time.perf_counter
    try:
        for i in range(count):
            due = start + offset + i * interval
            delay = due - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(requests[(i + int(offset * 1000)) % len(requests)])
            run.sent += 1
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length)
            run.latencies.append(clock() - due)
            if status != 200 or b'"verdict"' not in body:
                run.errors.append(f"HTTP {status}: {body[:200]!r}")
    finally:
        writer.close()


async def _load(
    port: int, requests: list[bytes], rate: float, seconds: float, connections: int,
    rss: list[tuple[float, float]], pid: int,
) -> tuple[Run, float]:  # fmt: skip
    run = Run()
    interval = connections / rate
    count = int(seconds * rate / connections)
    start = time.perf_counter() + 0.2
    stop = asyncio.Event()

    async def sample() -> None:
        while not stop.is_set():
            rss.append((time.perf_counter() - start, _rss_mib(pid)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    sampler = asyncio.create_task(sample())
    await asyncio.gather(
        *(
            _connection(port, requests, start, interval, c * interval / connections, count, run)
            for c in range(connections)
        )
    )
    elapsed = time.perf_counter() - start
    stop.set()
    await sampler
    return run, elapsed


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _photo() -> bytes:
    from PIL import Image

    im = Image.open(PHOTO).convert("RGB")
    w, h = im.size
    ch = w * 1080 // 1920
    im = im.crop((0, (h - ch) // 2, w, (h - ch) // 2 + ch)).resize((1920, 1080))
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rate", type=float, default=1000.0, help="text requests per second")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--image-rate", type=float, default=5.0, help="1080p JPEGs per second")
    ap.add_argument("--image-seconds", type=float, default=20.0)
    ap.add_argument("--no-images", action="store_true")
    args = ap.parse_args()

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    workdir = Path(tempfile.mkdtemp(prefix="winnow-bench-"))
    env = {
        **os.environ,
        "WINNOW_DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("WINNOW_BROKER_URL", None)
    made = subprocess.run(
        [str(WINNOW), "key", "create", "--tenant", "bench", "--rate-limit", "100000", "--json"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    key = json.loads(made.stdout)["key"]
    port = _free_port()
    log = open(workdir / "serve.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [str(WINNOW), "serve", "--port", str(port), "--log-level", "warning"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    rows = []
    try:
        deadline = time.time() + 120
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
                    if b" 200 " in s.recv(200):
                        break
            except OSError:
                pass
            if time.time() > deadline or server.poll() is not None:
                raise SystemExit(f"server did not become ready; see {workdir / 'serve.log'}")
            time.sleep(0.5)

        texts = [
            _request(port, key, json.dumps({"text": t}).encode(), "application/json") for t in TEXTS
        ]
        rss: list[tuple[float, float]] = []
        asyncio.run(_load(port, texts, 200, 5, 8, [], server.pid))  # warm-up, not reported
        run, elapsed = asyncio.run(
            _load(port, texts, args.rate, args.seconds, args.connections, rss, server.pid)
        )
        rows.append(("short text (JSON, ~60 B)", args.rate, run, elapsed, rss))
        if not args.no_images and PHOTO.is_file():
            photo = [_request(port, key, _photo(), "application/octet-stream")]
            rss_i: list[tuple[float, float]] = []
            run_i, elapsed_i = asyncio.run(
                _load(port, photo, args.image_rate, args.image_seconds, 4, rss_i, server.pid)
            )
            rows.append(("1080p JPEG (raw bytes)", args.image_rate, run_i, elapsed_i, rss_i))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()

    cpus = os.cpu_count()
    print(f"winnow serve, 1 process, SQLite; load from a second process on loopback; {cpus} CPUs")
    print()
    print("| load | target req/s | achieved req/s | requests | errors | p50 ms | p90 ms | p99 ms | "
          "max ms | server RSS start → end (max) MiB |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, rate, run, elapsed, samples in rows:
        lat = run.latencies
        mem = [m for _, m in samples]
        print(
            f"| {name} | {rate:g} | {len(lat) / elapsed:.0f} | {len(lat)} | {len(run.errors)} | "
            f"{_pct(lat, 0.5):.1f} | {_pct(lat, 0.9):.1f} | {_pct(lat, 0.99):.1f} | "
            f"{max(lat) * 1000:.1f} | {mem[0]:.0f} → {mem[-1]:.0f} ({max(mem):.0f}) |"
        )
        for e in run.errors[:3]:
            print(f"    error: {e}")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
