"""Measure rtc.AudioSource on this machine: CPU per call/second, queue behaviour.

Run: .venv/bin/python -m tests.support.measure_audiosource
The figures in docs/runtime.md come from this script.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
from livekit import rtc

RATE = 48000


def _frame(ms: int, value: int = 0) -> rtc.AudioFrame:
    n = RATE * ms // 1000
    data = np.full(n, value, dtype=np.int16)
    return rtc.AudioFrame(data.tobytes(), RATE, 1, n)


async def cpu_per_second(frame_ms: int, seconds: float = 4.0) -> tuple[float, float]:
    """Feed silence in real time; return (CPU ms per audio second, CPU ms per call)."""
    src = rtc.AudioSource(RATE, 1, queue_size_ms=max(2 * frame_ms, 100))
    frame = _frame(frame_ms)
    calls = int(seconds * 1000 / frame_ms)
    await src.capture_frame(frame)  # warm up
    c0, w0 = time.process_time(), time.perf_counter()
    call_cpu = 0.0
    for _ in range(calls):
        a = time.thread_time()
        await src.capture_frame(frame)
        call_cpu += time.thread_time() - a
    c1, w1 = time.process_time(), time.perf_counter()
    await src.aclose()
    audio = calls * frame_ms / 1000
    return (c1 - c0) * 1000 / audio, call_cpu * 1000 / calls, w1 - w0


async def queue_behaviour() -> None:
    src = rtc.AudioSource(RATE, 1, queue_size_ms=200)
    print("queue_size_ms=200, pushing 100 ms frames as fast as possible:")
    t0 = time.perf_counter()
    for i in range(6):
        a = time.perf_counter()
        await src.capture_frame(_frame(100))
        print(
            f"  push {i}: returned after {1000 * (time.perf_counter() - a):6.1f} ms,"
            f" t={1000 * (time.perf_counter() - t0):6.1f} ms,"
            f" queued_duration={1000 * src.queued_duration:6.1f} ms"
        )
    a = time.perf_counter()
    src.clear_queue()
    print(f"  clear_queue(): queued_duration={1000 * src.queued_duration:.1f} ms")
    await src.capture_frame(_frame(100))
    print(f"  next push after clear returned in {1000 * (time.perf_counter() - a):.1f} ms")
    a = time.perf_counter()
    await src.wait_for_playout()
    print(f"  wait_for_playout returned after {1000 * (time.perf_counter() - a):.1f} ms")
    print("  a 500 ms frame into a 200 ms queue:")
    a = time.perf_counter()
    await src.capture_frame(_frame(500))
    print(f"    returned after {1000 * (time.perf_counter() - a):.1f} ms")
    await src.aclose()

    src = rtc.AudioSource(RATE, 1, queue_size_ms=1000)
    print("queue_size_ms=1000: push 200 ms frames with no pause:")
    t0 = time.perf_counter()
    for i in range(8):
        a = time.perf_counter()
        await src.capture_frame(_frame(200))
        print(
            f"  push {i}: {1000 * (time.perf_counter() - a):6.1f} ms,"
            f" queued_duration={1000 * src.queued_duration:6.1f}"
        )
    await asyncio.sleep(0.3)
    print(f"  after 300 ms idle queued_duration={1000 * src.queued_duration:.1f} ms")
    await src.aclose()


async def main() -> None:
    for ms in (10, 20, 100, 200):
        per_s, per_call, wall = await cpu_per_second(ms)
        print(
            f"{ms:4d} ms frames: {per_s:6.1f} ms CPU per audio second,"
            f" {per_call:.3f} ms (event-loop thread CPU) per capture_frame, wall {wall:.2f}s"
        )
    await queue_behaviour()


if __name__ == "__main__":
    asyncio.run(main())
