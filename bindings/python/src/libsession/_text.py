"""Checked conversions of Python text to the UTF-8 bytes the C ABI takes:
wrong types raise ``TypeError`` and unencodable text ``ValueError``, naming
what was being converted, before anything reaches C."""

from __future__ import annotations


def utf8(v: object, what: str) -> bytes:
    """A ``str``, encoded as UTF-8."""
    if not isinstance(v, str):
        raise TypeError(f"{what} must be a str, not {type(v).__name__}")
    try:
        return v.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"{what} is not valid Unicode ({e.reason})") from None


def text_or_bytes(v: object, what: str) -> bytes:
    """A ``str`` (encoded as UTF-8) or a bytes-like value."""
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    if not isinstance(v, str):
        raise TypeError(f"{what} must be str or bytes, not {type(v).__name__}")
    return utf8(v, what)
