"""`/api/v1/materials`: the writer's library of characters, scenes, dialogue and plot devices."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, field_validator, model_validator

from storage.sql.models import Material

from ..deps import CurrentUser, DatabaseDep, PublicationDep
from ..envelope import success
from ..schemas import Envelope, IdPath, Page, PageQuery
from ..services import materials as service

router = APIRouter(prefix="/materials", tags=["materials"])

MaterialType = Literal["character", "scene", "dialogue", "plot"]
# TEXT holds 65,535 bytes; 16,000 characters fit even at 4 bytes each.
CONTENT_MAX = 16_000


def _stripped(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


class MaterialOut(BaseModel):
    id: int
    user_id: int | None = Field(description="NULL for the system starter library")
    title: str
    type: MaterialType
    genre: str | None
    content: str
    is_public: bool
    is_system: bool
    is_mine: bool = Field(description="The caller owns it, so may change and delete it")
    use_count: int
    created_at: datetime
    updated_at: datetime


class MaterialCreated(MaterialOut):
    material_id: int


class MaterialIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    type: MaterialType
    genre: str | None = Field(None, max_length=50)
    content: str = Field("", max_length=CONTENT_MAX)
    is_public: bool = False

    _title = field_validator("title")(_stripped)

    @field_validator("genre")
    @classmethod
    def _genre(cls, value: str | None) -> str | None:
        return (value or "").strip() or None


class MaterialPatch(BaseModel):
    title: str | None = Field(None, min_length=1, max_length=200)
    type: MaterialType | None = None
    genre: str | None = Field(None, max_length=50)
    content: str | None = Field(None, max_length=CONTENT_MAX)
    is_public: bool | None = None

    _title = field_validator("title")(_stripped)

    @field_validator("genre")
    @classmethod
    def _genre(cls, value: str | None) -> str | None:
        return (value or "").strip() or None

    @model_validator(mode="after")
    def _no_nulls(self) -> MaterialPatch:
        for name in ("title", "type", "content", "is_public"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self


class MaterialQuery(PageQuery):
    type: MaterialType | None = None
    genre: str | None = Field(None, max_length=50)
    mine: bool = Field(False, description="Only the caller's own materials")
    q: str | None = Field(None, max_length=100, description="Keyword in the title or content")


def material_out(material: Material, user_id: int) -> dict[str, Any]:
    return MaterialOut(
        id=material.id,
        user_id=material.user_id,
        title=material.title,
        type=material.type,  # type: ignore[arg-type]
        genre=material.genre,
        content=material.content or "",
        is_public=bool(material.is_public),
        is_system=material.user_id is None,
        is_mine=material.user_id == user_id,
        use_count=material.use_count,
        created_at=material.created_at,
        updated_at=material.updated_at,
    ).model_dump(mode="json")


@router.get("", response_model=Envelope[Page[MaterialOut]], summary="Materials the caller can see")
async def list_materials(
    query: Annotated[MaterialQuery, Query()], user: CurrentUser, database: DatabaseDep
) -> dict[str, object]:
    where = service.MaterialFilter(
        type=query.type,
        genre=(query.genre or "").strip() or None,
        mine=query.mine,
        q=(query.q or "").strip() or None,
    )
    async with database.session() as session:
        total, rows = await service.list_materials(
            session, user.id, where, query.offset, query.page_size
        )
    items = [material_out(m, user.id) for m in rows]
    return success(
        {"total": total, "page": query.page, "page_size": query.page_size, "items": items}
    )


@router.post("", response_model=Envelope[MaterialCreated], status_code=201)
async def create_material(
    body: MaterialIn, user: CurrentUser, database: DatabaseDep, publication: PublicationDep
) -> dict[str, object]:
    fields = body.model_dump()
    fields["is_public"] = int(fields["is_public"])
    if fields["is_public"]:
        async with database.session() as session:
            text = f"{fields['title']}\n{fields.get('content') or ''}"
            await publication.check(session, "material", None, text)
    async with database.session() as session:
        material = await service.create_material(session, user.id, fields)
    out = material_out(material, user.id)
    return success({"material_id": material.id, **out})


@router.get("/{material_id}", response_model=Envelope[MaterialOut])
async def get_material(
    material_id: IdPath, user: CurrentUser, database: DatabaseDep
) -> dict[str, object]:
    async with database.session() as session:
        material = await service.readable(session, user.id, material_id)
    return success(material_out(material, user.id))


@router.patch("/{material_id}", response_model=Envelope[MaterialOut], summary="Owner only")
async def update_material(
    material_id: IdPath,
    body: MaterialPatch,
    user: CurrentUser,
    database: DatabaseDep,
    publication: PublicationDep,
) -> dict[str, object]:
    changes = body.model_dump(exclude_unset=True)
    if "is_public" in changes:
        changes["is_public"] = int(changes["is_public"])
    async with database.session() as session:
        # Made public, or public content changed: it passes the gate first (outside the write).
        current = await service.writable(session, user.id, material_id)
        will_be = {"title": current.title, "content": current.content, **changes}
        if will_be.get("is_public", current.is_public) and (
            changes.get("is_public") or {"title", "content"} & changes.keys()
        ):
            text = f"{will_be['title']}\n{will_be['content'] or ''}"
            await publication.check(session, "material", str(material_id), text)
    async with database.session() as session:
        material = await service.update_material(session, user.id, material_id, changes)
    return success(material_out(material, user.id))


@router.delete("/{material_id}", response_model=Envelope[None], summary="Owner only")
async def delete_material(
    material_id: IdPath, user: CurrentUser, database: DatabaseDep
) -> dict[str, object]:
    async with database.session() as session:
        await service.delete_material(session, user.id, material_id)
    return success(None)


@router.post(
    "/{material_id}/use",
    response_model=Envelope[MaterialOut],
    summary="Record that the material was inserted into a chapter (use_count + 1)",
)
async def use_material(
    material_id: IdPath, user: CurrentUser, database: DatabaseDep
) -> dict[str, object]:
    async with database.session() as session:
        material = await service.record_use(session, user.id, material_id)
    return success(material_out(material, user.id))
