"""Shapes shared by every router: the envelope and pagination."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    code: int = Field(0, description="0 on success; see the README's error table otherwise")
    message: str = "success"
    data: T
    timestamp: int


class Page(BaseModel, Generic[T]):
    total: int
    page: int
    page_size: int
    items: list[T]


class PageQuery(BaseModel):
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=100)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size
