"""The bench's modules import each other by bare name (`python bench/run.py`); so do these."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
