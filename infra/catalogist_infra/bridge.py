"""The local event bridge: what Eventarc does in GCP, for the Storage emulator.

Every new object, or new generation of an object, in the watched bucket is delivered to the
function as a `google.cloud.storage.object.v1.finalized` CloudEvent. Delivery is at-least-once:
a failed or timed-out delivery is retried with exponential backoff until it succeeds or its
retry window closes. On start-up everything already in the bucket is delivered once more, so a
fresh (in-memory) Firestore emulator catches up; the function's idempotent ledger makes that
harmless.

    python -m catalogist_infra.bridge --bucket uploads --target http://127.0.0.1:8701 \
        --storage-host http://127.0.0.1:9023 --port 8703
"""

from __future__ import annotations

import argparse
import heapq
import json
import logging
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from catalogist_infra.cloudevents import binary_event, object_resource

log = logging.getLogger("catalogist.bridge")

# Eventarc retries these; any other 4xx means the event itself is wrong and is dropped.
RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class BridgeConfig:
    bucket: str
    target_url: str
    poll_interval: float = 0.2
    # The deployed function's timeout (terraform: upload_function.timeout_seconds, 3600 s): a big
    # price list takes minutes, and a shorter wait would redeliver it while it still runs.
    delivery_timeout: float = 3600.0
    first_backoff: float = 0.5
    max_backoff: float = 30.0
    retry_window: float = 3600.0
    workers: int = 4


@dataclass(order=True)
class _Delivery:
    due: float
    key: tuple[str, str] = field(compare=False)
    resource: dict[str, Any] = field(compare=False)
    attempt: int = field(default=0, compare=False)
    first_try: float = field(default=0.0, compare=False)


class EventBridge:
    def __init__(self, config: BridgeConfig, storage_client: Any) -> None:
        self.config = config
        self._storage = storage_client
        self._seen: set[tuple[str, str]] = set()
        self._retries: list[_Delivery] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="deliver")
        self.counts = {"delivered": 0, "attempts": 0, "failed_attempts": 0, "dropped": 0, "in_flight": 0}

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception:  # the emulator restarting must not kill the bridge
                log.exception("listing the bucket failed; will try again")
            stop.wait(self.config.poll_interval)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def poll_once(self) -> None:
        now = time.monotonic()
        for blob in self._storage.list_blobs(self.config.bucket):
            key = (blob.name, str(blob.generation))
            if key in self._seen:
                continue
            self._seen.add(key)
            self._submit(_Delivery(now, key, object_resource(blob), first_try=now))
        with self._lock:
            due = []
            while self._retries and self._retries[0].due <= now:
                due.append(heapq.heappop(self._retries))
        for delivery in due:
            self._submit(delivery)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {**self.counts, "waiting_retry": len(self._retries), "objects_seen": len(self._seen)}

    def _submit(self, delivery: _Delivery) -> None:
        with self._lock:
            self.counts["in_flight"] += 1
        self._pool.submit(self._deliver, delivery)

    def _deliver(self, delivery: _Delivery) -> None:
        headers, body = binary_event(delivery.resource)
        outcome = ""
        status = 0
        try:
            response = requests.post(
                self.config.target_url, data=body, headers=headers, timeout=self.config.delivery_timeout
            )
            status = response.status_code
            outcome = response.text[:300]
        except requests.RequestException as error:
            outcome = f"{type(error).__name__}: {error}"
        with self._lock:
            self.counts["in_flight"] -= 1
            self.counts["attempts"] += 1
            context = {"object": "/".join(delivery.key), "attempt": delivery.attempt + 1, "status": status}
            if 200 <= status < 300:
                self.counts["delivered"] += 1
                log.info("delivered", extra=context)
                return
            self.counts["failed_attempts"] += 1
            elapsed = time.monotonic() - delivery.first_try
            if (status and status not in RETRYABLE_STATUS) or elapsed > self.config.retry_window:
                self.counts["dropped"] += 1
                log.error("delivery failed for good", extra={**context, "response": outcome})
                return
            backoff = min(self.config.max_backoff, self.config.first_backoff * 2**delivery.attempt)
            backoff *= random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security
            log.warning(
                "delivery failed; will retry",
                extra={**context, "response": outcome, "retry_in_seconds": round(backoff, 2)},
            )
            heapq.heappush(
                self._retries,
                _Delivery(
                    time.monotonic() + backoff,
                    delivery.key,
                    delivery.resource,
                    delivery.attempt + 1,
                    delivery.first_try,
                ),
            )


def _health_server(bridge: EventBridge, host: str, port: int) -> ThreadingHTTPServer:
    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(bridge.snapshot()).encode()
            self.send_response(200 if self.path in ("/", "/health") else 404)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    from google.cloud import storage  # type: ignore[attr-defined]  # no type information

    from catalogist import logs

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bucket", required=True, help="the uploads bucket to watch")
    parser.add_argument("--target", required=True, help="URL of the CloudEvent function")
    parser.add_argument("--storage-host", required=True, help="Storage emulator URL")
    parser.add_argument("--project", default="catalogist-local")
    parser.add_argument("--host", default="127.0.0.1", help="where the health endpoint listens")
    parser.add_argument("--port", type=int, default=8703, help="health endpoint port")
    parser.add_argument("--poll-interval", type=float, default=0.2)
    parser.add_argument("--first-backoff", type=float, default=0.5)
    parser.add_argument("--retry-window", type=float, default=3600.0)
    args = parser.parse_args(argv)

    logs.configure("INFO")
    os.environ["STORAGE_EMULATOR_HOST"] = args.storage_host
    bridge = EventBridge(
        BridgeConfig(
            args.bucket,
            args.target,
            poll_interval=args.poll_interval,
            first_backoff=args.first_backoff,
            retry_window=args.retry_window,
        ),
        storage.Client(project=args.project),
    )
    server = _health_server(bridge, args.host, args.port)
    stop = threading.Event()
    import signal

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    log.info("bridge watching", extra={"bucket": args.bucket, "target": args.target})
    bridge.run(stop)
    server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
