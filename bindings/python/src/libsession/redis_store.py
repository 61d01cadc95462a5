"""connect-redis compatible stores on redis-py: ``RedisStore`` (synchronous,
for ``libsession.wsgi``) and ``AsyncRedisStore`` (``redis.asyncio``, for
``libsession.asgi``).

They write exactly what connect-redis writes behind express-session (keys
``prefix + sid``, the record's JSON text, TTLs from the cookie's expiry, see
``docs/redis.md``), so a Node app and a Python app on one Redis share
sessions. None of those rules is in this module: for every store action the
request loop asks the library for the command
(``Request.redis_command``, ``libsession_request_redis_command``) and the
store only sends it::

    from libsession import Config
    from libsession.redis_store import RedisStore
    from libsession.wsgi import SessionMiddleware

    store = RedisStore("redis://127.0.0.1:6379/0", prefix="sess:")
    app = SessionMiddleware(app, Config(secret=SECRET), store)

Options: ``prefix`` (default ``"sess:"``), ``ttl`` (seconds, for sessions
without expiry; default 86400), ``disable_touch``, ``disable_ttl``, or
``options=`` a connect-redis options dict (``{"prefix": ..., "ttl": ...,
"disableTouch": ..., "disableTTL": ...}``); ``connect_timeout`` and
``command_timeout`` (seconds, default 2). A connection that breaks (Redis
restarted, the connection dropped) is re-established and the command sent
once more (GET, SET, EXPIRE and DEL are idempotent for a session record); a
command that still fails, or times out, raises, and the request loop reports
it to the engine as a store failure (a failed load answers 500, a failed
end-of-request save is logged), never silently.

Needs redis-py (``pip install redis``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from ._redis_plan import RedisCommand, RedisOp, RedisOptions
from ._stored import StoreKind

__all__ = ["RedisStore", "AsyncRedisStore", "RedisOptions", "RedisCommand", "RedisOp", "DEFAULT_TIMEOUT"]

#: Default connect and command timeouts, in seconds.
DEFAULT_TIMEOUT = 2.0


def _options(
    options: RedisOptions | Mapping[str, Any] | None,
    prefix: str | None,
    ttl: int | None,
    disable_touch: bool,
    disable_ttl: bool,
) -> RedisOptions:
    if options is None:
        return RedisOptions(prefix=prefix, ttl=ttl, disable_touch=disable_touch, disable_ttl=disable_ttl)
    if prefix is not None or ttl is not None or disable_touch or disable_ttl:
        raise TypeError("give either options= or prefix/ttl/disable_touch/disable_ttl, not both")
    if isinstance(options, RedisOptions):
        return options
    return RedisOptions.from_connect_redis(options)


def _timeout(name: str, v: float) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
        raise ValueError(f"{name} must be a positive number of seconds, not {v!r}")
    return float(v)


class _Base:
    """What both stores share: options and description."""

    #: Redis's TTL is the authority: a touch renews only the TTL, so a
    #: record's stored ``cookie.expires`` may be stale; a ``null`` record is
    #: no session.
    kind = StoreKind.TTL
    redis_options: RedisOptions
    url: str | None

    def __repr__(self) -> str:
        return f"<libsession.{type(self).__name__} {self.url or 'client'} prefix={self.redis_options.prefix!r}>"


class RedisStore(_Base):
    """A connect-redis compatible store on a synchronous redis-py client
    (see the module doc). ``url``: ``redis://host:port/db`` (also
    ``rediss://``, ``unix://``), or ``client=`` a ``redis.Redis`` of your own
    (its timeouts and retries are then yours; ``decode_responses`` must be
    off). Thread-safe (redis-py's connection pool)."""

    def __init__(
        self,
        url: str | None = None,
        *,
        client: redis.Redis | None = None,
        options: RedisOptions | Mapping[str, Any] | None = None,
        prefix: str | None = None,
        ttl: int | None = None,
        disable_touch: bool = False,
        disable_ttl: bool = False,
        connect_timeout: float = DEFAULT_TIMEOUT,
        command_timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if (url is None) == (client is None):
            raise TypeError("RedisStore: give a url or a client")
        self.redis_options = _options(options, prefix, ttl, disable_touch, disable_ttl)
        self.url = url
        if client is None:
            assert url is not None
            client = redis.Redis.from_url(
                url,
                socket_connect_timeout=_timeout("connect_timeout", connect_timeout),
                socket_timeout=_timeout("command_timeout", command_timeout),
                # One retry is done here, for a broken connection only (a
                # timeout is not retried: it would double the wait).
                retry=Retry(NoBackoff(), 0),
            )
        self.client = client

    @classmethod
    def from_connect_redis(cls, url: str, options: Mapping[str, Any], **kwargs: Any) -> RedisStore:
        """A store with connect-redis's options object (``{"prefix": ...,
        "ttl": ..., "disableTouch": ..., "disableTTL": ...}``)."""
        return cls(url, options=options, **kwargs)

    def execute(self, command: RedisCommand) -> bytes | bool | None:
        """Sends one command of the plan; for ``GET``, returns the reply
        (``None`` when the key is absent); for ``SET ... NX`` and ``EVAL``,
        whether it wrote (``False``: the key exists / a version conflict). A broken connection is
        re-established and the command sent once more; other failures raise."""
        try:
            return self._send(command)
        except redis.ConnectionError:
            # redis-py has dropped the broken connection; a new one is made.
            return self._send(command)

    def _send(self, c: RedisCommand) -> bytes | bool | None:
        r = self.client
        if c.op is RedisOp.GET:
            value = r.get(c.key)
            return value if value is None or isinstance(value, bytes) else str(value).encode()
        if c.op is RedisOp.SET and c.nx:
            # A new session's ID: insert-if-absent (None when the key exists).
            return r.set(c.key, c.value, ex=c.ttl, nx=True) is not None
        if c.op is RedisOp.EVAL:
            # versioned: the atomic compare-and-set; 1 written, 0 a conflict.
            return int(r.execute_command(*c.args())) == 1
        if c.op is RedisOp.SET:
            r.set(c.key, c.value, ex=c.ttl)
        elif c.op is RedisOp.EXPIRE:
            r.expire(c.key, c.ttl)
        elif c.op is RedisOp.DEL:
            r.delete(c.key)
        return None

    def ping(self) -> bool:
        """Whether the server answers (``PING``)."""
        return bool(self.client.ping())

    def close(self) -> None:
        """Closes the client's connections."""
        self.client.close()

    def __enter__(self) -> RedisStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncRedisStore(_Base):
    """``RedisStore`` on ``redis.asyncio`` (for ``libsession.asgi`` and any
    asyncio host driving ``Request.poll_with_async``). ``client=`` takes a
    ``redis.asyncio.Redis``. Close with ``await store.aclose()``."""

    def __init__(
        self,
        url: str | None = None,
        *,
        client: redis.asyncio.Redis | None = None,
        options: RedisOptions | Mapping[str, Any] | None = None,
        prefix: str | None = None,
        ttl: int | None = None,
        disable_touch: bool = False,
        disable_ttl: bool = False,
        connect_timeout: float = DEFAULT_TIMEOUT,
        command_timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if (url is None) == (client is None):
            raise TypeError("AsyncRedisStore: give a url or a client")
        self.redis_options = _options(options, prefix, ttl, disable_touch, disable_ttl)
        self.url = url
        if client is None:
            assert url is not None
            client = redis.asyncio.Redis.from_url(
                url,
                socket_connect_timeout=_timeout("connect_timeout", connect_timeout),
                socket_timeout=_timeout("command_timeout", command_timeout),
                retry=AsyncRetry(NoBackoff(), 0),
            )
        self.client = client

    @classmethod
    def from_connect_redis(cls, url: str, options: Mapping[str, Any], **kwargs: Any) -> AsyncRedisStore:
        """A store with connect-redis's options object."""
        return cls(url, options=options, **kwargs)

    async def execute(self, command: RedisCommand) -> bytes | bool | None:
        """As ``RedisStore.execute``, awaited."""
        try:
            return await self._send(command)
        except redis.ConnectionError:
            return await self._send(command)

    async def _send(self, c: RedisCommand) -> bytes | bool | None:
        r = self.client
        if c.op is RedisOp.GET:
            value = await r.get(c.key)
            return value if value is None or isinstance(value, bytes) else str(value).encode()
        if c.op is RedisOp.SET and c.nx:
            return await r.set(c.key, c.value, ex=c.ttl, nx=True) is not None
        if c.op is RedisOp.EVAL:
            return int(await r.execute_command(*c.args())) == 1
        if c.op is RedisOp.SET:
            await r.set(c.key, c.value, ex=c.ttl)
        elif c.op is RedisOp.EXPIRE:
            await r.expire(c.key, c.ttl)
        elif c.op is RedisOp.DEL:
            await r.delete(c.key)
        return None

    async def ping(self) -> bool:
        """Whether the server answers (``PING``)."""
        return bool(await self.client.ping())

    async def aclose(self) -> None:
        """Closes the client's connections."""
        await self.client.aclose()
