"""Deterministic freeing of the C handles the package owns: ``close()``,
``with`` blocks, and ``__del__`` as the fallback."""

from __future__ import annotations

from typing import Any, Callable, ClassVar


class OwnedHandle:
    """Owns one C handle; subclasses name the C function that frees it."""

    __slots__ = ()  # subclasses declare `_ptr` (and `__weakref__`) in theirs
    _free_handle: ClassVar[Callable[[Any], None]]

    def close(self) -> None:
        """Frees the handle (idempotent; safe at any point of its lifecycle)."""
        ptr = getattr(self, "_ptr", None)
        self._ptr = None
        if ptr is not None:
            type(self)._free_handle(ptr)

    @property
    def closed(self) -> bool:
        return getattr(self, "_ptr", None) is None

    def __enter__(self):  # noqa: ANN204 (returns the subclass)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # The fallback when neither close() nor a with block freed it.
        if getattr(self, "_ptr", None) is not None:
            try:
                self.close()
            except Exception:  # interpreter shutdown: the module may be gone
                pass
