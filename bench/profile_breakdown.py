"""Where an Inkweave server's CPU went, from a `profiling.Recording`: buckets, µs per update.

Each main-thread py-spy sample goes to one bucket (decode, store, apply, ...), decided by the
innermost frame of Inkweave's own code (`sync_server/`, `storage/`, `api/`) and, for the few
functions that do several things, by the source line it is on; samples with no such frame go by
the library (websockets, uvicorn, asyncio), or "below Python" when the thread is in uvloop's C
code (or waits for a CPU there). The CPU spent running Python code (perf's interpreter share,
`profile_native`) is split in the proportions of the Python-level samples; threads' CPU comes
from `/proc`.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from paths import REPO
from profile_native import GROUPS, INTERPRETER, native_shares
from profiling import Recording
from stats import fmt_decimals, markdown_row

RECEIVE = "receive: websocket frames in (uvicorn, websockets), ASGI receive"
DECODE = "decode: message parse, update validation (get_state)"
STORE = "store append, loop side: group commit, SQLAlchemy, aiosqlite hand-off"
APPLY = "apply: pycrdt apply_update"
OBSERVE = "observer and hooks: relay capture, metrics, projection, AI marks"
ENCODE = "encode: update frames, coalescing merges"
SEND = "send: per-peer queues, ASGI send, websocket framing, socket write"
DISPATCH = "dispatch: room.handle, submit bookkeeping, a task per update"
LOOP = "asyncio in Python: queues, futures, locks, task helpers"
BELOW = "below Python: uvloop, C asyncio, syscalls, or waiting for a CPU"
UNREAD = "no stack read (py-spy --nonblocking met the thread between frames)"
CONNECT = "connect: upgrade, ASGI app, auth, room load, first sync, leave"
AWARENESS = "awareness"
COMPACT = "compaction"
OTHER = "other Python"
BUCKETS = (
    RECEIVE,
    DECODE,
    STORE,
    APPLY,
    OBSERVE,
    ENCODE,
    SEND,
    DISPATCH,
    LOOP,
    CONNECT,
    AWARENESS,
    COMPACT,
    OTHER,
)
# What an update costs on its way through: the buckets summed into "per update".
PER_UPDATE = frozenset({RECEIVE, DECODE, STORE, APPLY, OBSERVE, ENCODE, SEND, DISPATCH, LOOP})
_NOT_PYTHON = frozenset({BELOW, UNREAD})
SQLITE_THREAD = "_connection_worker_thread"  # aiosqlite's worker threads are named after it

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*):(?P<line>\d+)\)$")
_THREAD = re.compile(r"^thread \((?P<tid>\d+)\): (?P<name>.*)$")
_OWN = ("sync_server/", "storage/", "api/")


@dataclass(frozen=True, slots=True)
class Frame:
    func: str
    file: str
    line: int


def parse_frame(text: str) -> Frame:
    match = _FRAME.match(text)
    if match is None:
        return Frame(text, "", 0)
    return Frame(match["func"], match["file"], int(match["line"]))


@dataclass
class Stack:
    tid: int
    thread: str
    frames: list[Frame]  # outermost first
    count: int


def parse_raw(text: str) -> list[Stack]:
    """py-spy's `--format raw --threads` output: `thread (TID): NAME;frame;...;frame COUNT`."""
    stacks = []
    for line in text.splitlines():
        body, _, count = line.rpartition(" ")
        if not body or not count.isdigit():
            continue
        head, *frames = body.split(";")
        thread = _THREAD.match(head)
        if thread is None:  # recorded without --threads
            head, frames, tid, name = "", [head, *frames], 0, "MainThread"
        else:
            tid, name = int(thread["tid"]), thread["name"]
        stacks.append(Stack(tid, name, [parse_frame(f) for f in frames], int(count)))
    return stacks


class SourceLines:
    """The text of a line of Inkweave's source, for frames whose function does several things."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._files: dict[str, list[str]] = {}

    def __call__(self, frame: Frame) -> str:
        if frame.file not in self._files:
            try:
                self._files[frame.file] = (self._root / frame.file).read_text().splitlines()
            except OSError:
                self._files[frame.file] = []
        lines = self._files[frame.file]
        return lines[frame.line - 1] if 0 < frame.line <= len(lines) else ""


def _by_line(source: str, rules: tuple[tuple[str, str], ...], default: str | None) -> str | None:
    for needle, bucket in rules:
        if needle in source:
            return bucket
    return default


_SUBMIT_LINES = (
    ("get_state", DECODE),
    ("_store.append", STORE),
    ("apply_update", APPLY),
    ("hook.", OBSERVE),
    ("sync_update", ENCODE),
    ("_request_compaction", COMPACT),
)
_HANDLE_LINES = (
    ("drain", CONNECT),
    ("_first_sync", CONNECT),
    ("awareness", AWARENESS),
    ("presence", AWARENESS),
)
_RECEIVE_LINES = (("receive()", RECEIVE), ("parse_message", DECODE), ("room.handle", DISPATCH))
_SENDER_LINES = (("coalesce", ENCODE),)
# The room's writer: one batch of updates validated, stored, applied and relayed, by line.
_ROOM_WRITE = ("submit", "_write_queued", "_write", "_valid", "_integrate", "_count_for_compaction")
_ROOM_CONNECT = ("ready", "join", "_load", "leave", "_first_sync", "unload", "detach")
_ROOM_AWARENESS = (
    "_handle_awareness",
    "_owned",
    "_claim",
    "_remind_of_departure",
    "flush_renewals",
    "expire_presence",
    "_schedule_expiry",
    "_expiry_due",
    "_announce",
    "apply_presence_from_elsewhere",
)


def _own_bucket(frame: Frame, source: SourceLines) -> str | None:
    """The bucket of an Inkweave frame; None: look at the frame that called it."""
    file, func = frame.file, frame.func.rsplit(".", 1)[-1]
    if file == "sync_server/room.py":
        if func == "_collect_relay":
            return OBSERVE
        if func in _ROOM_WRITE:
            return _by_line(source(frame), _SUBMIT_LINES, DISPATCH)
        if func == "handle":
            return _by_line(source(frame), _HANDLE_LINES, DISPATCH)
        if func == "_broadcast":
            return OBSERVE if "hook" in source(frame) else SEND
        if func in _ROOM_CONNECT:
            return CONNECT
        if func in _ROOM_AWARENESS:
            return AWARENESS
        return DISPATCH
    if file == "sync_server/protocol.py":
        return DECODE if func.startswith("parse") or "Reader" in frame.func else ENCODE
    if file == "sync_server/connection.py":
        if "coalesce" in frame.func or func == "_merged_frame":
            return ENCODE
        if func == "run_sender":
            return _by_line(source(frame), _SENDER_LINES, SEND)
        if func in ("send", "__init__"):
            return SEND if func == "send" else CONNECT
        if func in ("writes_full", "write_queued", "write_done", "room_to_write"):
            return DISPATCH
        return CONNECT  # drain, close, wait_closed
    if file == "sync_server/endpoint.py":
        if func == "_receive_loop":
            return _by_line(source(frame), _RECEIVE_LINES, RECEIVE)
        return CONNECT
    if file == "sync_server/rooms.py":
        return COMPACT if "compact" in func else CONNECT
    if file == "sync_server/direct_send.py":
        return SEND
    if file in ("sync_server/first_sync.py", "sync_server/auth.py", "sync_server/limits.py"):
        return CONNECT
    if file == "sync_server/presence.py":
        return AWARENESS
    if file in ("sync_server/metrics.py", "sync_server/fan_out.py", "sync_server/hooks.py"):
        return OBSERVE
    if file in ("storage/docs/group_commit.py", "storage/docs/sql.py", "storage/docs/mongo.py"):
        if "compact" in func:
            return COMPACT
        return CONNECT if func == "load" else STORE
    if file in ("api/projection.py", "api/ai_marks_hook.py"):
        return OBSERVE
    if file.startswith(("api/sync_access.py", "api/security/", "api/client_address.py")):
        return CONNECT
    if file.startswith(("api/http_security.py", "api/ratelimit.py", "api/admission.py")):
        return CONNECT
    return None  # helpers (merge, yjs_updates, sql): the caller says what they are for


_HANDSHAKE = re.compile(r"connect|accept|upgrade|request|handshake|reject|keepalive|close")
_STARTUP = ("<frozen", "asyncio/runners.py", "uvicorn/", "api/__main__.py", "api/cli.py")


def _library_bucket(frames: list[Frame]) -> str:
    """For a stack without Inkweave frames: the innermost library that says what it is."""
    for frame in reversed(frames):
        file = frame.file
        if "websockets" in file or "wsproto" in file:
            if file.endswith(("http11.py", "headers.py")) or _HANDSHAKE.search(frame.func):
                return CONNECT  # the opening handshake, keep-alive pings, closing
            return SEND if frame.func.endswith("send") else RECEIVE
        if "httptools" in file or "h11" in file or file.startswith(("starlette/", "fastapi/")):
            return CONNECT
        if file.startswith(("asyncio/", "uvloop/")) and file != "asyncio/runners.py":
            return LOOP
    # Nothing but the start-up chain: the main thread is inside uvloop's C code (I/O, timers,
    # calling callbacks) below any Python frame, or runnable and waiting for a CPU there.
    return BELOW if all(f.file.startswith(_STARTUP) for f in frames) else OTHER


def classify(stack: Stack, source: SourceLines) -> str:
    """The bucket of a main-thread stack."""
    if not stack.frames:
        return UNREAD
    for frame in reversed(stack.frames):
        if frame.file.startswith(_OWN):
            bucket = _own_bucket(frame, source)
            if bucket is not None:
                return bucket
    return _library_bucket(stack.frames)


@dataclass
class Breakdown:
    """Where one recording's server CPU went.

    `python_s` splits the CPU the server spent running Python code among the buckets, in the
    proportions of py-spy's main-thread samples (those below Python left out). That CPU is
    perf's interpreter share of the server's CPU where perf ran (on-CPU samples: not skewed by
    a busy machine), else the main thread's CPU less nothing (an upper bound).
    """

    recording: Recording
    samples: Counter[str]  # main thread, per bucket
    threads_s: dict[str, float]  # CPU per kind of thread: main, SQLite, other
    native: dict[str, float]  # perf: share of on-CPU samples per native group
    python_cpu_s: float
    self_time: list[tuple[str, int]]  # main thread: innermost function, samples

    @property
    def total_s(self) -> float:
        return sum(self.threads_s.values())

    @property
    def python_s(self) -> dict[str, float]:
        counted = sum(n for bucket, n in self.samples.items() if bucket not in _NOT_PYTHON)
        if not counted:
            return {}
        return {
            bucket: self.python_cpu_s * n / counted
            for bucket, n in self.samples.items()
            if bucket not in _NOT_PYTHON
        }


def breakdown(recording: Recording, source_root: Path = REPO) -> Breakdown:
    stacks = parse_raw(recording.raw.read_text(errors="replace")) if recording.raw.exists() else []
    source = SourceLines(source_root)
    samples: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    names: dict[int, str] = {}
    for stack in stacks:
        names[stack.tid] = stack.thread
        if stack.thread == "MainThread":
            samples[classify(stack, source)] += stack.count
            leaf = stack.frames[-1] if stack.frames else Frame("?", "", 0)
            leaves[f"{leaf.func} ({leaf.file})"] += stack.count
    threads = {"main thread": 0.0, "SQLite threads (aiosqlite)": 0.0, "other threads": 0.0}
    for tid, seconds in recording.cpu_s.items():
        if tid == recording.pid:
            kind = "main thread"
        elif SQLITE_THREAD in names.get(tid, ""):
            kind = "SQLite threads (aiosqlite)"
        else:
            kind = "other threads"
        threads[kind] += seconds
    native = native_shares(recording.perf)
    total = sum(threads.values())
    python_cpu = total * native[INTERPRETER] if native else threads["main thread"]
    return Breakdown(recording, samples, threads, native, python_cpu, leaves.most_common(12))


_HEAD = ["where", "share", "CPU (ms)", "µs per update received", "µs per frame relayed"]


def report(label: str, item: Breakdown) -> str:
    """A Markdown section: threads, Python-level buckets, native groups; µs per update."""
    rec = item.recording
    total = item.total_s
    raw = rec.raw.relative_to(REPO) if rec.raw.is_relative_to(REPO) else rec.raw
    main_samples = sum(item.samples.values())
    below = item.samples.get(BELOW, 0)
    unread = item.samples.get(UNREAD, 0)
    threads = ", ".join(f"{kind} {seconds:.2f} s" for kind, seconds in item.threads_s.items())
    lines = [
        f"#### {label}",
        "",
        f"Server CPU {total:.2f} s ({threads}); {rec.received:,.0f} updates received, "
        f"{rec.relayed:,.0f} update frames relayed. py-spy: {main_samples} active main-thread "
        f"samples at {rec.rate} Hz = {main_samples / rec.rate:.2f} s (more than the thread's CPU "
        f"when it waited for a CPU), {below} of them below Python, {unread} unreadable. "
        f"Raw stacks: `{raw}`.",
        "",
    ]

    def table(rows: list[tuple[str, float]], base: float) -> list[str]:
        out = [markdown_row(_HEAD), "|" + " --- |" * len(_HEAD)]
        for name, seconds in rows:
            per_in = 1e6 * seconds / rec.received if rec.received else None
            per_out = 1e6 * seconds / rec.relayed if rec.relayed else None
            share = f"{100 * seconds / base:.1f}%" if base else "—"
            cells = [name, share, fmt_decimals(1000 * seconds)]
            out.append(markdown_row([*cells, fmt_decimals(per_in), fmt_decimals(per_out)]))
        return out

    python = item.python_s
    source = "perf's interpreter share" if item.native else "the main thread's CPU, all of it"
    lines.append(
        f"Python-level CPU ({source}: {item.python_cpu_s:.2f} s) split by py-spy's samples; "
        "share of that CPU:"
    )
    lines.append("")
    rows = [(bucket, python[bucket]) for bucket in BUCKETS if python.get(bucket)]
    per_update = sum(v for k, v in python.items() if k in PER_UPDATE)
    rows.append(("**on the update path (the rows above connect)**", per_update))
    lines += table(rows, item.python_cpu_s)
    if item.native:
        lines += ["", "All of the server's CPU, by native code (perf, on-CPU samples):", ""]
        lines += table([(g, total * item.native[g]) for g in GROUPS if item.native.get(g)], total)
    lines += ["", "Main thread, innermost frames (py-spy self samples):", ""]
    lines += [f"- {name}: {count}" for name, count in item.self_time]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """`python bench/profile_breakdown.py RECORDING.json ...`: the report of saved recordings
    again (after the buckets changed, say), Inkweave's source read from `--src DIR` or the repo."""
    src = REPO
    if argv[:1] == ["--src"]:
        src, argv = Path(argv[1]), argv[2:]
    for path in argv:
        recording = Recording.load(Path(path))
        print(report(Path(path).stem, breakdown(recording, src)), end="\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
