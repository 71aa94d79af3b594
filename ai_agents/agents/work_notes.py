"""A work's named notes (the premise, the Snowflake steps), kept in SQL beside the work."""

from __future__ import annotations

from sqlalchemy import select

from storage.sql.database import Database
from storage.sql.models import WorkNote


async def load_notes(database: Database, work_id: int) -> dict[str, str]:
    async with database.session() as session:
        rows = await session.scalars(select(WorkNote).where(WorkNote.work_id == work_id))
        return {row.name: row.content for row in rows}


async def save_note(database: Database, work_id: int, name: str, content: str) -> None:
    async with database.session() as session:
        note = await session.get(WorkNote, (work_id, name))
        if note is None:
            session.add(WorkNote(work_id=work_id, name=name, content=content))
        else:
            note.content = content
