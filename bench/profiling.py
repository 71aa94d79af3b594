"""`run.py --profile`: py-spy records the Inkweave server while a scenario drives it.

`py-spy record` samples every thread of the server (250 Hz, idle samples dropped, Python frames
only: `--native` slows sampling so much that it distorts the run; `--nonblocking` unless asked
otherwise, so that the server is never paused) into raw collapsed stacks
(`bench/results/<stamp>-profile/*.txt`; speedscope and flamegraph.pl read them as they are).
Around the recording, the server's CPU time is read per thread from `/proc/PID/task/*/stat` and
its update counters from `/metrics`. `profile_breakdown` says where the time went.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from paths import REPO
from processes import PROCESSES, InkweaveNode, stop_process
from progress import log


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) used so far by each thread of `pid`."""
    out: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (task / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            out[int(task.name)] = (int(fields[11]) + int(fields[12])) / 100
    return out


_COUNTERS = ("inkweave_updates_received_total", "inkweave_updates_relayed_total")


def counters(url: str) -> dict[str, float]:
    """The update counters on an Inkweave node's `/metrics` (empty when unreachable)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return {}
    found = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in _COUNTERS:
            found[name] = float(value)
    return found


@dataclass
class Recording:
    """One server's profile: its raw stacks and what was measured around them."""

    raw: Path
    rate: int
    pid: int
    perf: Path | None = None  # `perf record` of the same window, where perf works
    cpu_s: dict[int, float] = field(default_factory=dict)  # per thread, during the recording
    received: float = 0  # updates received from peers
    relayed: float = 0  # update frames sent to peers

    def save(self) -> Path:
        """Beside the raw stacks, as JSON: `profile_breakdown.py` reports it again from there."""
        path = self.raw.with_suffix(".json")
        fields = {**asdict(self), "raw": str(self.raw), "perf": str(self.perf or "") or None}
        path.write_text(json.dumps(fields, indent=1))
        return path

    @classmethod
    def load(cls, path: Path) -> Recording:
        fields = json.loads(path.read_text())
        # The files travel together: found beside the JSON wherever the folder went.
        fields["raw"] = path.parent / Path(fields["raw"]).name
        fields["perf"] = path.parent / Path(fields["perf"]).name if fields["perf"] else None
        fields["cpu_s"] = {int(tid): s for tid, s in fields["cpu_s"].items()}
        return cls(**fields)


def _py_spy() -> str:
    venv = REPO / ".venv" / "bin" / "py-spy"
    found = str(venv) if venv.exists() else shutil.which("py-spy")
    if found is None:
        raise RuntimeError("py-spy is not installed: `.venv/bin/pip install py-spy` (dev extra)")
    return found


def _start(cmd: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    PROCESSES.append(proc)
    return proc


def _interrupt(proc: subprocess.Popen[bytes], what: str) -> None:
    """Ctrl-C (both samplers write their file then), at most 30 s, then kill."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            log(f"{what} did not stop in 30 s; killed")
    stop_process(proc)


def _wait_for(proc: subprocess.Popen[bytes], log_path: Path, text: bytes, what: str) -> None:
    """Until `text` shows in the sampler's log (at most 10 s): the scenario starts after that."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited: {log_path.read_text(errors='replace')[-1000:]}")
        if text in log_path.read_bytes():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not start sampling in 10 s")


class Profiler:
    """Records every Inkweave server of a run while it is driven (`attached`).

    py-spy gives Python stacks; where `perf` is installed and allowed, `perf record -e cpu-clock`
    samples the same window on-CPU only (native code: the interpreter, pycrdt, uvloop, SQLite,
    the kernel), which a busy machine does not skew: py-spy counts a thread that waits for a CPU
    as active, perf does not.
    """

    def __init__(self, out_dir: Path, rate: int = 250, nonblocking: bool = True) -> None:
        self.out_dir = out_dir
        self.rate = rate
        self.nonblocking = nonblocking
        self.recordings: list[Recording] = []
        self._py_spy = _py_spy()
        self._perf = shutil.which("perf")

    @contextlib.contextmanager
    def attached(self, server: InkweaveNode) -> Iterator[None]:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        stem = self.out_dir / f"{server.name}-{server.port}-{len(self.recordings)}"
        pid, rate = str(server.pid), str(self.rate)
        raw = stem.with_suffix(".txt")
        spy = [self._py_spy, "record", "--pid", pid, "--rate", rate, "--format", "raw"]
        spy += ["--threads", "--output", str(raw)] + (["--nonblocking"] if self.nonblocking else [])
        recording = Recording(raw, self.rate, server.pid)
        samplers = [("py-spy", _start(spy, stem.with_suffix(".py-spy.log")))]
        try:
            _wait_for(samplers[0][1], stem.with_suffix(".py-spy.log"), b"Sampling", "py-spy")
            if self._perf is not None:
                recording.perf = stem.with_suffix(".perf.data")
                perf = [self._perf, "record", "-e", "cpu-clock", "-F", rate, "-p", pid]
                samplers.append(
                    (
                        "perf",
                        _start([*perf, "-o", str(recording.perf)], stem.with_suffix(".perf.log")),
                    )
                )
            cpu0, metrics0 = thread_cpu(server.pid), counters(server.metrics_url)
            yield
            cpu1, metrics1 = thread_cpu(server.pid), counters(server.metrics_url)
        finally:
            for what, proc in samplers:
                _interrupt(proc, what)
        recording.cpu_s = {tid: cpu1[tid] - cpu0.get(tid, 0) for tid in cpu1}
        recording.received = metrics1.get(_COUNTERS[0], 0) - metrics0.get(_COUNTERS[0], 0)
        recording.relayed = metrics1.get(_COUNTERS[1], 0) - metrics0.get(_COUNTERS[1], 0)
        recording.save()
        self.recordings.append(recording)
