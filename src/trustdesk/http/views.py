"""Response bodies that are a service's view under the same field names."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel


class ViewOut(BaseModel):
    # No docstring: the API document would take it as every subclass's description.

    @classmethod
    def of(cls, view: object) -> Self:
        """The body of ``view``: each field read from the attribute of the same name."""
        return cls.model_validate(view, from_attributes=True)
