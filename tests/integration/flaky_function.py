"""A CloudEvent function that fails its first deliveries of each event, then succeeds.

Stands in for a function whose Firestore or Storage call failed transiently, so the test can
watch the bridge redeliver. Attempts are appended to the file named by FLAKY_ATTEMPTS_FILE.
"""

import os
from pathlib import Path

import functions_framework

ATTEMPTS = Path(os.environ["FLAKY_ATTEMPTS_FILE"])
FAILURES = int(os.environ.get("FLAKY_FAILURES", "2"))


@functions_framework.cloud_event
def flaky(cloud_event):
    key = f"{cloud_event['id']} {cloud_event['subject']}"
    with ATTEMPTS.open("a") as attempts:
        attempts.write(key + "\n")
    earlier = ATTEMPTS.read_text().splitlines().count(key) - 1
    if earlier < FAILURES:
        raise ConnectionError(f"simulated transient failure {earlier + 1} of {FAILURES}")
