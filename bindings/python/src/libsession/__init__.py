"""libsession for Python: express-session 1.19.0 semantics through the C ABI.

A pure-Python binding (ctypes) over ``libsession.so``: the same engine, the
same signed cookies and store records as express-session, the Rust and the C
hosts.

* ``Config(**options)`` / ``Config.from_express_options(...)``: an immutable
  configuration.
* ``Request(config, ...)``: one request's session lifecycle, a poll loop:
  ``next_action()`` returns ``Load``, ``Save``, ``Touch``, ``Destroy``,
  ``SetCookie``, ``Ready``, ``Failed``, ``Completed``, ``Error`` objects or the
  sentinels ``WAIT`` and ``DONE``; ``handle_load_result`` and
  ``handle_store_result`` answer store actions; ``req.session`` is the
  session data as a dict-like view.
* ``Store`` (protocol) and ``MemoryStore``: stores for ``poll_with``/``run``;
  ``StoredRecord``: a record as the engine made it, which a store keeps so
  that loading it parses nothing; ``StoreKind``: which rules a store's
  records follow.
* ``libsession.wsgi.SessionMiddleware``: WSGI middleware;
  ``libsession.flask.LibsessionInterface``: ``flask.session`` on the engine;
  ``libsession.asgi.SessionMiddleware``: ASGI middleware (asynchronous
  stores, ``Request.poll_with_async``).
* ``libsession.redis_store``: connect-redis compatible stores on redis-py
  (``RedisStore``, ``AsyncRedisStore``), whose commands the library plans
  (``RedisOptions``, ``Request.redis_command``).

The shared library is found next to this package, through the environment
variable ``LIBSESSION_LIBRARY``, or in the repository's cargo build output
(see ``libsession._lib``).
"""

from ._actions import (
    DONE,
    READY,
    WAIT,
    Action,
    Completed,
    Destroy,
    Done,
    Error,
    Failed,
    Load,
    Ready,
    Save,
    SetCookie,
    SetHeader,
    StoreAction,
    Touch,
    Wait,
)
from ._config import (
    DEFAULT_COOKIE_MAX_HEADER_BYTES,
    DEFAULT_COOKIE_MAX_PAIRS,
    DEFAULT_RECORD_MAX_BYTES,
    DEFAULT_RECORD_MAX_DEPTH,
    DEFAULT_RECORD_MAX_KEYS,
    Config,
    default_cookie_limits,
    default_record_limits,
)
from ._errors import (
    ConfigError,
    EntropyError,
    IdsExhaustedError,
    InvalidValueError,
    LibsessionError,
    MisuseError,
    NoSessionError,
    PanicError,
    ReservedKeyError,
    Result,
    StoreError,
    result_message,
)
from ._lib import LIB_PATH
from ._lib import LIB as _LIB
from ._redis_plan import RedisCommand, RedisOp, RedisOptions
from ._request import Request, RunResult, SessionView
from ._events import Event, EventKind, StoreOperation
from ._stored import StoredRecord, StoreKind, memory_store_expiry
from .store import MemoryStore, MemoryStoreFull, Store

__version__ = "0.1.0"


def library_version() -> str:
    """The loaded library's version (``libsession_version``)."""
    import ctypes

    s = _LIB.libsession_version()
    return ctypes.string_at(s.data, s.len).decode("ascii")


__all__ = [
    "Action",
    "Completed",
    "Config",
    "ConfigError",
    "DEFAULT_COOKIE_MAX_HEADER_BYTES",
    "DEFAULT_COOKIE_MAX_PAIRS",
    "DONE",
    "Destroy",
    "Done",
    "EntropyError",
    "Error",
    "Failed",
    "IdsExhaustedError",
    "InvalidValueError",
    "LIB_PATH",
    "LibsessionError",
    "Load",
    "MemoryStore",
    "MemoryStoreFull",
    "MisuseError",
    "NoSessionError",
    "PanicError",
    "READY",
    "Ready",
    "RedisCommand",
    "RedisOp",
    "RedisOptions",
    "Request",
    "ReservedKeyError",
    "Result",
    "RunResult",
    "Save",
    "SessionView",
    "SetCookie",
    "SetHeader",
    "Store",
    "StoreAction",
    "StoreError",
    "StoreKind",
    "Event",
    "EventKind",
    "StoreOperation",
    "StoredRecord",
    "Touch",
    "WAIT",
    "Wait",
    "default_cookie_limits",
    "default_record_limits",
    "DEFAULT_RECORD_MAX_BYTES",
    "DEFAULT_RECORD_MAX_KEYS",
    "DEFAULT_RECORD_MAX_DEPTH",
    "library_version",
    "memory_store_expiry",
    "result_message",
]
