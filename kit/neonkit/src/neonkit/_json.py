"""JSON in and out: the one place that decides what is malformed, and that answers valid UTF-8.

In: a body that is not UTF-8, not JSON, nested deeper than `MAX_DEPTH`, or holds a number
Python refuses (NaN, Infinity, an integer of thousands of digits) is a `BadRequestError` (400).
Out: always valid UTF-8 JSON, even when a value echoes a client's lone surrogate.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from .errors import BadRequestError

MAX_DEPTH = 32  # request bodies nest a few levels; deeper is an attack or a mistake

_encoder = msgspec.json.Encoder()
_log_encoder = msgspec.json.Encoder(enc_hook=str)
_log_decoder = msgspec.json.Decoder()


def loads(data: bytes) -> Any:
    """The JSON value of `data`, or a `BadRequestError` saying what is wrong with it."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequestError(f"the body is not valid UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise BadRequestError("a JSON body is required")
    if too_deep(data):
        raise BadRequestError(f"the JSON is nested more than {MAX_DEPTH} levels deep")
    try:
        return _decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise BadRequestError(
            f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except (ValueError, RecursionError):  # NaN/Infinity, or an integer with thousands of digits
        raise BadRequestError("malformed JSON: a number is not valid or too long") from None


def too_deep(data: bytes) -> bool:
    """Whether arrays and objects nest deeper than `MAX_DEPTH` (parsers' own limits differ)."""
    if data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
        return False  # too few brackets to be too deep: skip the scan
    depth = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def dumps(value: Any) -> str:
    """Compact JSON text that is valid UTF-8 whatever `value` holds."""
    try:
        return _encoder.encode(value).decode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from the client: escape it, \\ud800
        return json.dumps(value, separators=(",", ":"), default=str)
    except TypeError:  # a type msgspec does not know (a Decimal subclass, a custom object)
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def log_line(record: Any) -> str:
    """A log record as JSON: what JSON has no type for is written as its str(), as Powertools'
    own encoder does; valid UTF-8 whatever the record holds."""
    try:
        return _log_encoder.encode(record).decode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from the client: escape it, \ud800
        return json.dumps(record, separators=(",", ":"), default=str)


def log_message(text: str) -> Any:
    """The JSON value of a log message, or ValueError if it is not JSON (then it is logged as
    the text it is)."""
    return _log_decoder.decode(text)


def shown(text: str, limit: int = 100) -> str:
    """A client's text fit to echo in an error: shortened, lone surrogates written as \\udXXX."""
    return text[:limit].encode("utf-8", "backslashreplace").decode("utf-8")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_decoder = json.JSONDecoder(parse_constant=_reject_constant)
