"""What the process counts for an operator's monitoring (Prometheus text format at
/metrics). The objects live here, at the bottom of the layers, so the engine, the senders
and the scheduler can all count without importing the web server; only bot/web.py
exposes them.

The default registry also carries the process collector (process_start_time_seconds,
memory, CPU) of prometheus_client.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

UPDATES_RECEIVED = Counter(
    "doingoai_updates_received_total", "Messages and button presses received", ["channel"]
)
UPDATES_HANDLED = Counter(
    "doingoai_updates_handled_total",
    "Updates handled, by outcome (ok, flood: ignored while a person floods, error)",
    ["channel", "outcome"],
)
HANDLING_SECONDS = Histogram(
    "doingoai_handling_seconds",
    "Time to handle one update, from receipt to its committed replies",
    ["channel"],
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
)
MESSAGES_SENT = Counter(
    "doingoai_messages_sent_total",
    "Messages handed to a messenger, by kind (reply, reminder) and outcome",
    ["channel", "kind", "outcome"],
)
REMINDERS = Counter(
    "doingoai_reminders_total", "Reminders by channel and outcome", ["channel", "outcome"]
)
SEND_QUEUE = Gauge("doingoai_send_queue", "Messages waiting to be sent (the outbox)")
DATABASE_ERRORS = Counter("doingoai_database_errors_total", "Database operations that failed")
