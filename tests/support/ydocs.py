from __future__ import annotations

from pycrdt import Doc

from sync_server.protocol import Reader


def clocks(doc: Doc) -> dict[int, int]:
    """A document's state vector as a dict (its encoding's client order is not fixed)."""
    reader = Reader(doc.get_state())
    return dict((reader.var_uint(), reader.var_uint()) for _ in range(reader.var_uint()))
