"""The shape of every chapter's Yjs document (DESIGN, "Documents"): the names of its root types.

Editors, the AI peer, REST and the projection all open these two roots by name; a client that
used any other name would edit a part of the document nobody else reads.
"""

from __future__ import annotations

CONTENT = "content"  # Y.Text: the plain text, a novel's paragraphs or a screenplay in Fountain
META = "meta"  # Y.Map: characters, scenes, plot threads
# The key in META that a version restore sets, in the same transaction as its edits: `version_id`,
# `version_name`, `pre_restore_version_id` (the version holding the text just before), `at`, `by`.
# Editors clear their undo history when it changes, so no undo reaches across a restore.
RESTORED = "restored"
