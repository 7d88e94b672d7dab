"""A JSON parser that enforces Clone's body-size, depth and text rules before anything is stored."""

import json
from typing import Any

from django.conf import settings
from rest_framework.parsers import BaseParser

from clone_server.errors import MalformedJson, PayloadTooLarge

# Oversized bodies up to this multiple of the limit are read and dropped before answering 413.
_DRAIN_FACTOR = 4


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        # 1e400 parses as infinity, which no JSON column can store.
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def check_json_depth(value: Any, limit: int) -> None:
    """Raise ``MalformedJson`` when ``value`` nests deeper than ``limit`` (iteratively, no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                raise MalformedJson(f"The JSON body nests deeper than {limit} levels.")
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def _drain(stream, remaining: int, limit: int) -> None:
    """Read and drop the rest of a body that is somewhat too large, so a client that sends the
    whole body before reading gets the 413 instead of a broken pipe. A body far over the limit
    is not read: the connection is dropped instead."""
    if stream is None or remaining > _DRAIN_FACTOR * limit:
        return
    while remaining > 0:
        chunk = stream.read(min(remaining, 64 * 1024))
        if not chunk:
            return
        remaining -= len(chunk)


class LimitedJSONParser(BaseParser):
    """Reads at most ``CLONE_MAX_BODY_BYTES``, rejects NaN/Infinity (also as overflowing numbers
    like 1e400), invalid UTF-8 and overly deep nesting with clear errors.

    Not a ``JSONParser`` subclass on purpose: DRF buffers the whole body through
    ``request.body`` for those before parsing, so the limit would fire as Django's
    ``RequestDataTooBig`` without the body being drained, and the client, still sending, would
    get a broken pipe instead of the 413."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.CLONE_MAX_BODY_BYTES
        request = (parser_context or {}).get("request")
        declared_text = request.META.get("CONTENT_LENGTH") if request is not None else None
        try:
            declared = int(declared_text) if declared_text else None
        except ValueError:
            raise MalformedJson("Content-Length is not a number.") from None
        too_large = PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        if declared is not None and declared > limit:
            _drain(stream, declared, limit)
            raise too_large
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            if declared is not None:
                _drain(stream, declared - len(raw), limit)
            raise too_large
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedJson(f"The request body is not valid UTF-8: {exc.reason}.") from None
        try:
            data = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
        except RecursionError:
            raise MalformedJson("The JSON body nests too deeply.") from None
        except ValueError as exc:
            raise MalformedJson(f"The request body is not valid JSON: {exc}") from None
        check_json_depth(data, settings.CLONE_MAX_JSON_DEPTH)
        return data
