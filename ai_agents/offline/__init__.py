"""Offline AI: deterministic methods that need no network and no key.

Each task has its own module: `continuation` (an n-gram model of the work's own text), `polish`
(punctuation, spacing and word-choice rules), `conversion` (novel ⇄ Fountain by rule), `outline`
(structure templates), `summary` (extractive), `snowflake` (the ten-step guide) and `review`
(names, timeline and repetition across a whole work). `chinese` holds what they share.
"""
