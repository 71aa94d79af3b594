"""`bench/profile_breakdown.py`: py-spy's stacks into the buckets of `run.py --profile`."""

from pathlib import Path

from profile_breakdown import APPLY, BELOW, DECODE, OBSERVE, STORE, SourceLines, classify, parse_raw

REPO = Path(__file__).resolve().parents[2]
ROOT = "thread (7): MainThread;Runner.run (asyncio/runners.py:118)"


def _line_of(path: str, text: str) -> int:
    lines = (REPO / path).read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if text in line)


def test_samples_go_to_the_bucket_of_what_the_room_was_doing() -> None:
    def writing_at(func: str, text: str, *inner: str) -> str:
        frame = f"Room.{func} (sync_server/room.py:{_line_of('sync_server/room.py', text)})"
        return ";".join([ROOT, frame, *inner])

    raw = "\n".join(
        [
            writing_at("_valid", "get_state(write.update)") + " 3",
            writing_at("_write", "_store.append(")
            + ";GroupCommitter.submit (storage/docs/group_commit.py:9) 2",
            writing_at(
                "_integrate", ".apply_update(write.update)", "Doc.apply_update (pycrdt/_doc.py:1)"
            )
            + " 5",
            writing_at(
                "_integrate",
                ".apply_update(write.update)",
                "Doc.apply_update (pycrdt/_doc.py:1)",
                "Room._collect_relay (sync_server/room.py:1)",
            )
            + " 1",
            ROOT + " 4",
        ]
    )
    stacks = parse_raw(raw)
    source = SourceLines(REPO)
    assert [(classify(s, source), s.count) for s in stacks] == [
        (DECODE, 3),
        (STORE, 2),
        (APPLY, 5),
        (OBSERVE, 1),
        (BELOW, 4),
    ]
    assert {s.tid for s in stacks} == {7}
