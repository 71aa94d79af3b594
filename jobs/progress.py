"""Progress reported from a rendering or parsing thread, written to the task row from the loop."""

from __future__ import annotations

from types import TracebackType

from .repeating import Repeating
from .tasks import TaskStore


class ProgressPump:
    """`pump(percent)` may be called from any thread, as often as it likes; the task row gets the
    newest value (mapped onto `start..end`) at most every `interval_s`, and only when it rose."""

    def __init__(
        self,
        tasks: TaskStore,
        task_id: str,
        *,
        start: int = 0,
        end: int = 100,
        interval_s: float = 0.2,
    ) -> None:
        self.tasks = tasks
        self.task_id = task_id
        self.start = start
        self.end = end
        self._latest = 0
        self._written = start  # the task is there already; only a rise is written
        self._writer = Repeating(self.flush, interval_s, name=f"progress:{task_id}")

    def __call__(self, percent: int) -> None:
        self._latest = max(self._latest, max(0, min(100, int(percent))))

    def mapped(self) -> int:
        return self.start + (self.end - self.start) * self._latest // 100

    async def flush(self) -> None:
        value = self.mapped()
        if value > self._written:
            self._written = value
            await self.tasks.progress(self.task_id, value)

    async def __aenter__(self) -> ProgressPump:
        self._writer.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._writer.stop()
        if exc_type is None:
            await self.flush()
