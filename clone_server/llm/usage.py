"""Tokens billed by the model provider."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Usage:
    """Tokens billed for one or more calls."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_creation_input_tokens=(
                self.cache_creation_input_tokens + other.cache_creation_input_tokens
            ),
            cache_read_input_tokens=self.cache_read_input_tokens + other.cache_read_input_tokens,
        )

    @classmethod
    def of(cls, sdk_usage: Any) -> Usage:
        """From the SDK's usage object, whose cache fields may be missing or None."""
        if sdk_usage is None:
            return cls()
        return cls(
            input_tokens=getattr(sdk_usage, "input_tokens", None) or 0,
            output_tokens=getattr(sdk_usage, "output_tokens", None) or 0,
            cache_creation_input_tokens=getattr(sdk_usage, "cache_creation_input_tokens", None)
            or 0,
            cache_read_input_tokens=getattr(sdk_usage, "cache_read_input_tokens", None) or 0,
        )
