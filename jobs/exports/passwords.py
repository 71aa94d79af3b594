"""Export passwords between the request and the job, in this process's memory only.

A task row and a broker message outlive the request and may be read by others (SQL, Redis,
RabbitMQ), so a file's password goes in neither: the request leaves it here under the task id,
and the export job of the same process reads it, and drops it once the file is stored. This
works where the API process runs its own jobs (the in-process broker); elsewhere the API refuses
protected exports, and a task whose password is gone (the server restarted before it ran) fails
rather than make an unprotected file.
"""

from __future__ import annotations

import threading

from jobs.exports.model import Protection


class HeldPasswords:
    def __init__(self) -> None:
        self._held: dict[str, Protection] = {}
        self._lock = threading.Lock()

    def hold(self, task_id: str, protection: Protection) -> None:
        with self._lock:
            self._held[task_id] = protection

    def peek(self, task_id: str) -> Protection | None:
        """The password for `task_id`, left here for a retry until the export completes."""
        with self._lock:
            return self._held.get(task_id)

    def drop(self, task_id: str) -> None:
        with self._lock:
            self._held.pop(task_id, None)

    def __len__(self) -> int:
        return len(self._held)
