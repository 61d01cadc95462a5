"""Replays express-session conformance vectors (tests/conformance/SPEC.md)
through the Python binding: a port of tests/conformance/runner.rs with the
C-ABI engine of tests/conformance/c_engine.rs, so every scenario goes
Python -> ctypes -> libsession.h.

Usable on its own: ``python conformance_runner.py FILE...`` prints one line
per failing scenario and ``N passed, M failed``.
"""

from __future__ import annotations

import json
import math
import sys
from collections import deque
from typing import Any

import libsession as ls

FAILED_TO_LOAD = "failed to load session"
SECRET_REQUIRED = "secret option required for sessions"

# Fixed entropy: every ID a scenario needs is pushed, so derived IDs would
# only appear if the scenario ran out (which the runner then reports).
ENTROPY = bytes([0x5E]) * 32


class Mismatch(Exception):
    """The first difference between a scenario and what the engine did."""


# ----- JSON helpers ----------------------------------------------------------


def get(v: Any, k: str) -> Any:
    return v.get(k) if isinstance(v, dict) else None


def truthy(v: Any) -> bool:
    if v is None or v is False:
        return False
    if isinstance(v, bool):
        return True
    if isinstance(v, (int, float)):
        return v != 0 and not (isinstance(v, float) and math.isnan(v))
    if isinstance(v, str):
        return v != ""
    return True


def to_text(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def str_of(v: Any) -> str:
    return v if isinstance(v, str) else to_text(v)


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def as_f64(v: Any) -> float:
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def json_eq(a: Any, b: Any) -> bool:
    """Deep JSON equality: object key order ignored, numbers by value (as
    IEEE doubles), booleans distinct from numbers."""
    if isinstance(a, dict) and isinstance(b, dict):
        return len(a) == len(b) and all(k in b and json_eq(v, b[k]) for k, v in a.items())
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_eq(x, y) for x, y in zip(a, b))
    if is_number(a) and is_number(b):
        return as_f64(a) == as_f64(b)
    if type(a) is not type(b) and not (is_number(a) and is_number(b)):
        return False
    return a == b


def show(v: Any) -> str:
    s = to_text(v)
    return s if len(s) <= 400 else s[:400] + "…"


def exact_message(m: str) -> bool:
    """Messages whose exact text is part of the contract."""
    return m.startswith("injected store") or m == FAILED_TO_LOAD or m == SECRET_REQUIRED


# ----- the engine, through the binding ------------------------------------------


class SharedIds:
    """The scenario's ``ids``, shared by the requests of all its steps."""

    def __init__(self, ids: list[str]) -> None:
        self.queue: deque[str] = deque(ids)
        self.exhausted_asks = 0

    def next_id(self) -> str | None:
        if self.queue:
            return self.queue.popleft()
        self.exhausted_asks += 1
        return None


class NoSession(Exception):
    pass


class OpFailed(Exception):
    pass


class EngineRequest:
    """One request: every ID not yet used is queued on it; after each call,
    the IDs it took are removed from the shared list (as the Rust engine's
    requests take them directly)."""

    def __init__(self, config: ls.Config, facts: dict[str, Any], ids: SharedIds) -> None:
        self.ids = ids
        self.consumed = 0
        self.req = ls.Request(
            config,
            now_ms=facts["now"],
            entropy=ENTROPY,
            session_ids=list(ids.queue),
            target=facts["target"],
            cookie=facts["cookies"],
            forwarded_proto=facts["xfp"],
            tls=facts["tls"],
            store_unavailable=facts["store_unavailable"],
        )
        self.sync_ids()

    def close(self) -> None:
        self.req.close()

    def sync_ids(self) -> None:
        generated = self.req.generated_id_count
        while self.consumed < generated:
            self.ids.next_id()
            self.consumed += 1

    def call(self, fn: Any, *args: Any) -> Any:
        """A call whose failure is a runner error."""
        try:
            return fn(*args)
        finally:
            self.sync_ids()

    def op(self, fn: Any, *args: Any) -> None:
        """A handler operation: NoSession / OpFailed(message) / success."""
        try:
            fn(*args)
        except ls.NoSessionError:
            raise NoSession() from None
        except ls.LibsessionError as e:
            raise OpFailed(e.message) from None
        finally:
            self.sync_ids()

    def poll(self) -> Any:
        return self.call(self.req.next_action)

    def load_stored(self, store: ls.MemoryStore, sid: str, now: int) -> bool:
        """The one load path: the store answers with the record it keeps."""
        return self.call(store.load_stored, sid, now, self.req)

    def take_stored_record(self) -> ls.StoredRecord:
        return self.call(self.req.take_stored_record)

    def handle_load(self, **kw: Any) -> None:
        self.call(lambda: self.req.handle_load_result(**kw))

    def handle_store(self, failed: str | None) -> None:
        self.call(self.req.handle_store_result, failed)

    def finish(self) -> None:
        self.call(self.req.finish)


# ----- running -----------------------------------------------------------------


class Faults:
    """Per-step fault plan: for each method, the outcome of its n-th call."""

    NAMES = ("get", "set", "touch", "destroy")

    def __init__(self, spec: Any) -> None:
        self.spec = spec
        self.counts = [0, 0, 0, 0]

    def outcome(self, method: int) -> str:
        n = self.counts[method]
        self.counts[method] += 1
        v = get(self.spec, self.NAMES[method])
        if v == "error" or v == "enoent":
            return v
        if isinstance(v, list):
            item = v[n] if n < len(v) else None
            if item == "error" or item == "enoent":
                return item
        return "ok"


class StepCtx:
    def __init__(self, store: ls.MemoryStore, faults: Faults, now: int, stored: bool = True) -> None:
        self.store = store
        # Records kept as the engine made them (the stored-record path), or
        # as text (what a text store does).
        self.stored = stored
        self.now = now  # the store's clock (the Rust runner's `now as i64`)
        self.faults = faults
        self.status = 200
        self.set_cookie: list[str] = []
        self.errors: list[str] = []
        self.handler_ran = False
        self.store_calls: list[dict[str, Any]] = []
        self.ops: list[dict[str, Any]] = []
        self.snapshots: list[dict[str, Any]] = []

    def record_call(self, op: str, sid: str, record: str | None, fault: str) -> None:
        call: dict[str, Any] = {"op": op, "sid": sid}
        if record is not None:
            try:
                call["record"] = json.loads(record)
            except ValueError:
                call["record"] = f"<unparsable {record}>"
        if fault != "ok":
            call["fault"] = fault
        self.store_calls.append(call)

    def drive(self, req: EngineRequest) -> Any:
        """Polls until the application's turn (or done); answers store actions."""
        store = self.store
        for _ in range(10_000):
            act = req.poll()
            if isinstance(act, ls.Load):
                f = self.faults.outcome(0)
                self.record_call("get", act.id, None, f)
                if f == "error":
                    req.handle_load(failed="injected store get fault")
                elif f == "enoent":
                    req.handle_load(missing="injected store get ENOENT")
                elif not self.stored:
                    req.handle_load(found=store.get(act.id, self.now))
                elif not req.load_stored(store, act.id, self.now):
                    req.handle_load(found=None)
            elif isinstance(act, ls.Save):
                f = self.faults.outcome(1)
                self.record_call("set", act.id, act.record, f)
                if f == "error":
                    failed = "injected store set fault"
                else:
                    try:
                        if self.stored:
                            store.save_stored(act.id, req.take_stored_record(), act.expires_at, self.now)
                        else:
                            store.set(act.id, act.record, act.expires_at, self.now)
                        failed = None
                    except ls.MemoryStoreFull as e:
                        failed = str(e)
                req.handle_store(failed)
            elif isinstance(act, ls.Touch):
                f = self.faults.outcome(2)
                self.record_call("touch", act.id, act.record, f)
                if f != "error" and self.stored:
                    store.touch_stored(act.id, req.take_stored_record(), act.expires_at, self.now)
                elif f != "error":
                    store.touch(act.id, act.record, act.expires_at, self.now)
                req.handle_store("injected store touch fault" if f == "error" else None)
            elif isinstance(act, ls.Destroy):
                f = self.faults.outcome(3)
                self.record_call("destroy", act.id, None, f)
                if f != "error":
                    store.destroy(act.id)
                req.handle_store("injected store destroy fault" if f == "error" else None)
            elif isinstance(act, ls.SetCookie):
                self.set_cookie.append(act.value)
            elif isinstance(act, ls.Error):
                self.errors.append(act.message)
            elif act is ls.WAIT:
                raise Mismatch("engine waits with no store answer owed")
            else:
                return act
        raise Mismatch("engine did not settle")

    def run_async(self, req: EngineRequest, start: Any) -> dict[str, Any]:
        try:
            req.op(start)
        except NoSession:
            return {"result": "no_session"}
        except OpFailed as e:
            raise Mismatch(f"operation refused: {e}") from None
        act = self.drive(req)
        if isinstance(act, ls.Completed):
            if act.error is None:
                return {"result": "ok"}
            return {"result": "error", "error": act.error}
        raise Mismatch(f"expected Completed, got {act!r}")

    def run_op(self, req: EngineRequest, op: dict[str, Any]) -> dict[str, Any]:
        name = get(op, "op") if isinstance(get(op, "op"), str) else ""
        key = get(op, "key") if isinstance(get(op, "key"), str) else ""
        value = get(op, "value")
        r = req.req

        def sync(fn: Any, *args: Any) -> dict[str, Any]:
            try:
                req.op(fn, *args)
            except NoSession:
                return {"result": "no_session"}
            except OpFailed as e:
                return {"result": "error", "error": str(e)}
            return {"result": "ok"}

        def num(v: Any) -> float | None:
            # The corpus gives numbers and null; a date string is read by the
            # library (MemoryStore's expiry of a cookie expiring then).
            if v is None:
                return None
            if isinstance(v, bool):
                return int(v)
            if is_number(v):
                return v
            if isinstance(v, str):
                at = ls.memory_store_expiry(to_text({"cookie": {"expires": v}}))
                if at is None:
                    raise Mismatch(f"{name}: {v!r} is no date the runner can pass")
                return at
            raise Mismatch(f"{name}: unsupported value {show(v)}")

        if name == "set":
            return sync(r.set, key, value)
        if name == "delete":
            return sync(r.delete, key)
        if name == "incr":
            return sync(r.increment, key)
        if name == "touch":
            return sync(r.touch)
        if name == "set_max_age":
            return sync(r.set_max_age, num(value))
        if name == "set_expires":
            return sync(r.set_expires, num(value))
        if name == "set_cookie_attr":
            attr = get(op, "attr") if isinstance(get(op, "attr"), str) else ""
            return sync(r.set_cookie_attr, attr, value)
        if name == "unset":
            return sync(r.unset)
        if name == "save":
            return self.run_async(req, r.save)
        if name == "reload":
            return self.run_async(req, r.reload)
        if name == "destroy":
            return self.run_async(req, r.destroy)
        if name == "regenerate":
            return self.run_async(req, r.regenerate)
        if name == "snapshot":
            text = req.call(r.session_json)
            self.snapshots.append(
                {
                    "sessionID": r.session_id,
                    "session": None if text is None else json.loads(text),
                    "maxAge": r.max_age,
                }
            )
            return {"result": "ok"}
        raise Mismatch(f"unknown op {name}")


class Clock:
    """The store's clock: the current step's ``now``."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def _u64(x: float) -> int:
    if math.isnan(x) or x <= 0:
        return 0
    return min(int(x), 2**64 - 1)


def _i64(x: float) -> int:
    if math.isnan(x):
        return 0
    return max(min(int(x) if math.isfinite(x) else (2**63 - 1 if x > 0 else -(2**63)), 2**63 - 1), -(2**63))


def run_scenario(sc: dict[str, Any], stored: bool = True) -> None:
    """Runs one scenario; raises ``Mismatch`` at the first difference.
    ``stored``: the store keeps records as the engine made them (handles);
    otherwise as text."""
    try:
        config = ls.Config.from_express_options(get(sc, "options"))
    except (ls.LibsessionError, TypeError, ValueError) as e:
        raise Mismatch(f"config: {e}") from None
    with config:
        ids_v = get(sc, "ids")
        ids = SharedIds([str_of(i) for i in ids_v] if isinstance(ids_v, list) else [])
        clock = Clock()
        store = ls.MemoryStore(clock=clock)
        initial = get(sc, "store_initial")
        if isinstance(initial, dict):
            for sid, rec in initial.items():
                store.insert(sid, rec)
        steps = get(sc, "steps")
        if not isinstance(steps, list):
            raise Mismatch("no steps")
        for i, step in enumerate(steps):
            try:
                run_step(config, ids, store, clock, step, stored)
            except Mismatch as e:
                raise Mismatch(f"step {i}: {e}") from None
            except ls.LibsessionError as e:
                raise Mismatch(f"step {i}: {e}") from None
    if ids.exhausted_asks > 0:
        raise Mismatch("engine asked for more ids than the scenario has")
    if ids.queue:
        raise Mismatch(f"{len(ids.queue)} id(s) never consumed")


def run_step(
    config: ls.Config, ids: SharedIds, store: ls.MemoryStore, clock: Clock, step: Any, stored: bool = True
) -> None:
    now_v = get(step, "now")
    now = float(now_v) if is_number(now_v) else 0.0
    request = get(step, "request")
    cookies: list[str] = []
    xfp: list[str] = []
    headers = get(request, "headers")
    if isinstance(headers, list):
        for h in headers:
            if isinstance(h, list):
                k = h[0] if h and isinstance(h[0], str) else ""
                v = h[1] if len(h) > 1 and isinstance(h[1], str) else ""
                if k.lower() == "cookie":
                    cookies.append(v)
                elif k.lower() == "x-forwarded-proto":
                    xfp.append(v)
    fault = get(step, "store_fault")
    url = get(request, "url")
    facts = {
        "now": _u64(now),
        "target": url if isinstance(url, str) else "/",
        "cookies": cookies,
        "xfp": xfp,
        "tls": truthy(get(request, "tls")),
        "store_unavailable": truthy(get(fault, "disconnected")),
    }
    clock.now = _i64(now)
    req = EngineRequest(config, facts, ids)
    try:
        ctx = StepCtx(store, Faults(fault), clock.now, stored)
        act = ctx.drive(req)
        if act is ls.READY:
            ctx.handler_ran = True
            handler = get(step, "handler")
            if isinstance(handler, list):
                for op in handler:
                    ctx.ops.append(ctx.run_op(req, op))
        elif isinstance(act, ls.Failed):
            ctx.status = 500
            ctx.errors.append(act.message)
        else:
            raise Mismatch(f"expected Ready or Failed, got {act!r}")
        req.finish()
        act = ctx.drive(req)
        if act is not ls.DONE:
            raise Mismatch(f"expected Done, got {act!r}")
        if req.poll() is not ls.DONE:
            raise Mismatch("Done did not repeat")
    finally:
        req.close()
    compare(ctx, get(step, "expect"), store)


def compare(o: StepCtx, e: Any, store: ls.MemoryStore) -> None:
    status_v = get(e, "status")
    exp_status = int(status_v) if is_number(status_v) else 200
    if o.status != exp_status:
        raise Mismatch(f"status: expected {exp_status}, got {o.status}")
    if truthy(get(e, "handler_ran")) != o.handler_ran:
        raise Mismatch(f"handler_ran: expected {truthy(get(e, 'handler_ran'))}, got {o.handler_ran}")
    sc = get(e, "set_cookie")
    exp_cookies = [str_of(x) for x in sc] if isinstance(sc, list) else []
    if exp_cookies != o.set_cookie:
        raise Mismatch(f"set_cookie: expected {exp_cookies!r}, got {o.set_cookie!r}")
    er = get(e, "errors")
    exp_errors = [str_of(x) for x in er] if isinstance(er, list) else []
    if len(exp_errors) != len(o.errors):
        raise Mismatch(f"errors: expected {exp_errors!r}, got {o.errors!r}")
    for x, y in zip(exp_errors, o.errors):
        if exact_message(x) and x != y:
            raise Mismatch(f"errors: expected {exp_errors!r}, got {o.errors!r}")
    calls = get(e, "store_calls")
    exp_calls = calls if isinstance(calls, list) else []
    if len(exp_calls) != len(o.store_calls):
        raise Mismatch(
            f"store_calls: expected {len(exp_calls)} call(s) {show(exp_calls)}, "
            f"got {len(o.store_calls)} {show(o.store_calls)}"
        )
    for i, (x, y) in enumerate(zip(exp_calls, o.store_calls)):
        for k in ("op", "sid", "fault"):
            if get(x, k) != get(y, k):
                raise Mismatch(f"store_calls[{i}].{k}: expected {show(get(x, k))}, got {show(get(y, k))}")
        if not json_eq(get(x, "record"), get(y, "record")):
            raise Mismatch(f"store_calls[{i}].record: expected {show(get(x, 'record'))}, got {show(get(y, 'record'))}")
    ops = get(e, "ops")
    exp_ops = ops if isinstance(ops, list) else []
    if len(exp_ops) != len(o.ops):
        raise Mismatch(f"ops: expected {show(exp_ops)}, got {show(o.ops)}")
    for i, (x, y) in enumerate(zip(exp_ops, o.ops)):
        xe = get(x, "error") if isinstance(get(x, "error"), str) else ""
        ye = get(y, "error") if isinstance(get(y, "error"), str) else ""
        if get(x, "result") != get(y, "result") or (exact_message(xe) and xe != ye):
            raise Mismatch(f"ops[{i}]: expected {show(x)}, got {show(y)}")
    snaps = get(e, "snapshots")
    exp_snaps = snaps if isinstance(snaps, list) else []
    if len(exp_snaps) != len(o.snapshots):
        raise Mismatch(f"snapshots: expected {len(exp_snaps)}, got {len(o.snapshots)}")
    for i, (x, y) in enumerate(zip(exp_snaps, o.snapshots)):
        xa, ya = get(x, "maxAge"), get(y, "maxAge")
        same_max_age = as_f64(xa) == as_f64(ya) if is_number(xa) and is_number(ya) else json_eq(xa, ya)
        if get(x, "sessionID") != get(y, "sessionID") or not json_eq(get(x, "session"), get(y, "session")):
            raise Mismatch(f"snapshots[{i}]: expected {show(x)}, got {show(y)}")
        if not same_max_age:
            raise Mismatch(f"snapshots[{i}]: expected {show(x)}, got {show(y)}")
    after: dict[str, Any] = {}
    for sid, text in store.snapshot().items():
        try:
            after[sid] = json.loads(text)
        except ValueError:
            after[sid] = text
    if not json_eq(get(e, "store_after"), after):
        raise Mismatch(f"store_after: expected {show(get(e, 'store_after'))}, got {show(after)}")


def load_scenarios(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if get(doc, "format") != "express-session-conformance":
        raise ValueError(f"{path}: not an express-session-conformance file")
    scenarios = get(doc, "scenarios")
    if not isinstance(scenarios, list):
        raise ValueError(f"{path}: no scenarios")
    return scenarios


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: conformance_runner.py FILE...", file=sys.stderr)
        return 2
    passed = failed = 0
    for path in argv:
        for sc in load_scenarios(path):
            try:
                run_scenario(sc)
                passed += 1
            except Mismatch as e:
                failed += 1
                print(f"FAIL {path} {str_of(get(sc, 'name'))}: {e}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
