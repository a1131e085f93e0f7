"""Timestamps for the benchmarks (Benchmarks in scripts/desktop-benchmark), only when
PG_DESKTOP_TRACE names a file: CLOCK_MONOTONIC (comparable across processes) when the first
frame is painted, and when a message's row enters the widget tree, by message id (never a
body)."""
import os
import time

_PATH = os.environ.get("PG_DESKTOP_TRACE")


def _write(line):
    with open(_PATH, "a") as file:
        file.write(f"{time.monotonic():.6f} {line}\n")


def first_frame(window):
    if not _PATH:
        return

    def mapped(_window):
        clock = window.get_frame_clock()
        handler = None

        def painted(_clock):
            clock.disconnect(handler)
            _write("first-frame")

        handler = clock.connect("after-paint", painted)

    window.connect("map", mapped)


def row(message_id):
    if _PATH:
        _write(f"row {message_id}")
