"""Latency of one hop through the embedded broker: a message sent to kombu's filesystem transport, with the
node's own transport options (``workers.celery_app.broker_options``), until a consumer in another process
has it — as a Celery worker on the embedded broker polls for its next task.

    python benchmarks/broker_hop.py [--messages 40] [--compare-interval 0.5]

Each message carries its send time; the consumer prints receive minus send. Sends are spaced by a random
0-0.2 s, so they fall anywhere in the consumer's polling cycle. With ``--compare-interval`` the same run also
measures the transport with that polling interval (the node's setting before it was lowered), the two
interleaved message by message. Prints the median, 90th percentile and maximum per setting, and the load
average. Not a test: nothing here asserts; read the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kombu import Connection

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workers.celery_app import broker_options  # noqa: E402

CONSUMER = """
import json, sys, time
from kombu import Connection
import workers.celery_app  # registers the embedded broker's transport alias with kombu
options, count = json.loads(sys.argv[1]), int(sys.argv[2])
with Connection(options["broker_url"], transport_options=options["broker_transport_options"]) as conn:
    queue = conn.SimpleQueue("hop")
    print("ready", flush=True)
    for _ in range(count):
        message = queue.get(block=True, timeout=60)
        print(time.time() - message.payload["sent"], flush=True)
        message.ack()
"""


def options_for(folder: Path, interval: float | None) -> dict[str, Any]:
    options = broker_options("", folder)
    if interval is not None:
        options["broker_transport_options"] = {**options["broker_transport_options"], "polling_interval": interval}
    return options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=40)
    parser.add_argument("--compare-interval", type=float, default=0.5)
    opts = parser.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory(prefix="spinenode-hop-") as tmp:
        settings = {"node's setting": options_for(Path(tmp) / "node", None)}
        if opts.compare_interval:
            settings[f"polling {opts.compare_interval} s"] = options_for(Path(tmp) / "old", opts.compare_interval)
        consumers = {}
        producers = {}
        for name, options in settings.items():
            consumers[name] = subprocess.Popen(
                [sys.executable, "-c", CONSUMER, json.dumps(options), str(opts.messages)],
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            assert consumers[name].stdout is not None and consumers[name].stdout.readline().strip() == "ready"
            conn = Connection(options["broker_url"], transport_options=options["broker_transport_options"])
            producers[name] = (conn, conn.SimpleQueue("hop"))
        for _ in range(opts.messages):
            for _name, (_, queue) in producers.items():
                time.sleep(rng.uniform(0, 0.2))
                queue.put({"sent": time.time()})
        for name, proc in consumers.items():
            out, _ = proc.communicate(timeout=120)
            hops = sorted(float(line) for line in out.split())
            interval = settings[name]["broker_transport_options"]["polling_interval"]
            p90 = hops[int(0.9 * (len(hops) - 1))]
            print(
                f"{name:<18} (polling {interval} s): median {statistics.median(hops) * 1000:6.1f} ms, "
                f"p90 {p90 * 1000:6.1f} ms, max {hops[-1] * 1000:6.1f} ms over {len(hops)} messages"
            )
        for conn, queue in producers.values():
            queue.close()
            conn.release()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
