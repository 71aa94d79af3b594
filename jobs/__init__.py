"""Background work: tasks queued by the API and periodic jobs, on Dramatiq.

- `tasks` the task rows' states; `runner` the port the API queues through (and its Dramatiq
  implementation); `broker` which Dramatiq broker, and the actors on it; `host` running a task's
  handler safely (retries, liveness, time limit); `system` one process's job machinery.
- `scheduler` runs each periodic job once per period across workers; `schedule` says which jobs
  and how often; `compaction` and `membership` are job bodies.
- `progress` and `failures` serve handlers; `exports` (renderers and the export job) and
  `imports` (parsers) are the file formats.

Which handler runs which kind of task is decided by the composition root (`api.jobs_setup`).
"""
