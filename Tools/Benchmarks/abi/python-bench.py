"""The Python side of Tools/Benchmarks/abi-benchmark.sh.

    python-bench.py observe SERVER PROFILE KEY_FILE COUNT   text-to-asyncio-handler latency
    python-bench.py send SERVER PROFILE KEY_FILE COUNT      sends COUNT texts "t=<ns>" to alice, 20 ms apart
    python-bench.py rss SERVER PROFILE KEY_FILE             resident memory with one client, above bare python3
    python-bench.py fill SERVER PROFILE KEY_FILE COUNT      COUNT texts to alice (a cache to read)

Prints `name p50 p99` lines (microseconds) or `name value`; asserts nothing."""
import subprocess
import sys
import time

import plusguidance


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, round((len(values) - 1) * p))]


def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])


mode, server, profile, key_file = sys.argv[1:5]
count = int(sys.argv[5]) if len(sys.argv) > 5 else 0

if mode == "rss":
    # A bare python3, and one with asyncio (and the ssl it imports) but no client, for scale.
    def child_rss(code):
        script = code + "; print([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1])"
        return int(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout)

    bare, with_asyncio = child_rss("pass"), child_rss("import asyncio")
    client = plusguidance.Client(server=server, profile=profile, key_file=key_file)
    client.start_live()
    client.fileno()
    client.clients()
    time.sleep(3)
    held = rss_kib()
    anonymous = sum(
        int(line.split()[1]) for line in open("/proc/self/smaps_rollup") if line.startswith(("Anonymous:",)))
    print(f"python-bare-rss-kib {bare}")
    print(f"python-asyncio-rss-kib {with_asyncio}")
    print(f"python-one-live-client-rss-kib {held}")
    print(f"python-one-live-client-anonymous-kib {anonymous}")
    print(f"python-client-above-bare-mib {(held - bare) / 1024:.1f}")
    print(f"python-client-with-asyncio-above-bare-mib {(held - bare + with_asyncio - bare) / 1024:.1f}")
    client.close()
elif mode in ("send", "fill"):
    with plusguidance.Client(server=server, profile=profile, key_file=key_file) as client:
        for n in range(count):
            client.send("alice@example.com", f"t={time.time_ns()}" if mode == "send" else f"filler {n}")
            if mode == "send":
                time.sleep(0.02)
elif mode == "observe":
    import asyncio  # here only: the rss mode measures a process without it

    client = plusguidance.Client(server=server, profile=profile, key_file=key_file)
    client.start_live()

    async def follow():
        latencies = []
        async for event in client.events():
            if event.event == "message" and event.change == "new" and event.message.body.startswith("t="):
                latencies.append((time.time_ns() - int(event.message.body[2:])) / 1e3)
                if len(latencies) == count:
                    return latencies

    async def main():
        follower = asyncio.ensure_future(follow())
        await asyncio.sleep(0.5)
        print("ready", file=sys.stderr, flush=True)
        return await follower

    latencies = asyncio.run(main())
    print(f"python-text-to-asyncio-handler {percentile(latencies, 0.5):.0f} {percentile(latencies, 0.99):.0f}")
    client.close()
