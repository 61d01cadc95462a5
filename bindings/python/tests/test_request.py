"""The poll loop and every handler operation, in h11's style: drive a request
action by action and check each one."""

from __future__ import annotations

import datetime as dt
import json

import pytest

import libsession as ls
from conftest import NOW, SECRET

MAX_AGE = 3_600_000


def new_session(config, store, data=None, sid="sid-one-0123456789abcdef0123456789"):
    """Runs a first request that stores a session holding ``data``; returns
    the Cookie header that carries it."""
    with ls.Request(config, now_ms=NOW, session_ids=[sid]) as req:
        out = req.run(store, lambda r: [r.set(k, v) for k, v in (data or {"views": 1}).items()])
    assert len(out.set_cookie) == 1
    return out.set_cookie[0].split(";", 1)[0]


def test_new_visitor_loop_action_by_action(config, store):
    req = ls.Request(config, now_ms=NOW, session_ids=["new-id-aaaaaaaaaaaaaaaaaaaaaaaaaaaa"])
    assert req.next_action() is ls.READY  # no cookie: no store load
    assert req.next_action() is ls.READY  # Ready repeats until the host acts
    assert req.session_id == "new-id-aaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    assert req.has_session and req.max_age == MAX_AGE
    assert req.session.increment("views") == 1
    req.finish()
    # express-session's order: the headers (Set-Cookie) are written before
    # the end-of-request save.
    cookie = req.next_action()
    assert isinstance(cookie, ls.SetCookie)
    assert cookie.value.startswith("connect.sid=s%3Anew-id-aaaaaaaaaaaaaaaaaaaaaaaaaaaa.")
    assert cookie.value.endswith("; Path=/; Expires=Tue, 14 Nov 2023 23:13:20 GMT; HttpOnly; SameSite=Lax")
    save = req.next_action()
    assert isinstance(save, ls.Save)
    assert save.id == "new-id-aaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    assert save.expires_at == NOW + MAX_AGE
    record = json.loads(save.record)
    assert record["views"] == 1
    assert record["cookie"]["originalMaxAge"] == MAX_AGE
    assert record["cookie"]["expires"] == "2023-11-14T23:13:20.000Z"
    assert req.next_action() is ls.WAIT  # the store answer is owed
    store.set(save.id, save.record, save.expires_at)
    req.handle_store_result()
    assert req.next_action() is ls.DONE
    assert req.next_action() is ls.DONE  # Done repeats forever
    req.close()


def test_returning_visitor_load_modify_save(config, store):
    cookie = new_session(config, store, {"views": 41})
    with ls.Request(config, now_ms=NOW + 1000, cookie=cookie) as req:
        load = req.next_action()
        assert isinstance(load, ls.Load)
        assert load.id == "sid-one-0123456789abcdef0123456789"
        assert req.cookie_session_id == load.id
        req.handle_load_result(store.get(load.id))
        assert req.next_action() is ls.READY
        assert req.session["views"] == 41
        assert req.session.increment("views") == 42
        req.finish()
        assert isinstance(req.next_action(), ls.SetCookie)  # modified + expires: cookie re-sent
        save = req.next_action()
        assert isinstance(save, ls.Save) and json.loads(save.record)["views"] == 42
        store.set(save.id, save.record, save.expires_at)
        req.handle_store_result()
        assert req.next_action() is ls.DONE


def test_unmodified_returning_visitor_is_touched(config, store):
    cookie = new_session(config, store, {"views": 5})
    before = json.loads(store.get("sid-one-0123456789abcdef0123456789"))
    with ls.Request(config, now_ms=NOW + 60_000, cookie=cookie) as req:
        acts = []
        while True:
            act = req.poll_with(store)
            acts.append(act)
            if act is ls.READY:
                req.finish()
            elif act is ls.DONE:
                break
    assert acts == [ls.READY, ls.DONE]  # no Set-Cookie: unmodified, not rolling
    after = json.loads(store.get("sid-one-0123456789abcdef0123456789"))
    assert after["views"] == 5
    assert after["cookie"]["expires"] != before["cookie"]["expires"]  # touched: new expiry


def test_touch_action_payload(config, store):
    cookie = new_session(config, store)
    with ls.Request(config, now_ms=NOW + 5, cookie=cookie) as req:
        load = req.next_action()
        req.handle_load_result(store.get(load.id))
        assert req.next_action() is ls.READY
        req.finish()
        touch = req.next_action()
        assert isinstance(touch, ls.Touch)
        assert touch.id == load.id and touch.expires_at == NOW + 5 + MAX_AGE
        assert json.loads(touch.record)["cookie"]["expires"] == "2023-11-14T23:13:20.005Z"
        req.handle_store_result()
        assert req.next_action() is ls.DONE


def test_load_answers(config, store):
    cookie = new_session(config, store)
    # not found: a fresh session with the next queued id
    with ls.Request(config, now_ms=NOW, cookie=cookie, session_ids=["fresh-1"]) as req:
        req.next_action()
        req.handle_load_result(None)
        assert req.next_action() is ls.READY
        assert req.session_id == "fresh-1" and req.generated_id_count == 1
    # ENOENT: not found too
    with ls.Request(config, now_ms=NOW, cookie=cookie, session_ids=["fresh-2"]) as req:
        req.next_action()
        req.handle_load_result(missing="no such file")
        assert req.next_action() is ls.READY
        assert req.session_id == "fresh-2"
    # a store failure: Failed, the handler must not run
    with ls.Request(config, now_ms=NOW, cookie=cookie) as req:
        req.next_action()
        req.handle_load_result(failed="database down")
        act = req.next_action()
        assert act == ls.Failed("database down")
        assert not req.has_session
        req.finish()
        assert req.next_action() is ls.DONE
    # bytes are accepted as the record
    with ls.Request(config, now_ms=NOW, cookie=cookie) as req:
        load = req.next_action()
        req.handle_load_result(store.get(load.id).encode())
        assert req.next_action() is ls.READY and req.session["views"] == 1


def test_handler_operations_dict_view(config, store):
    with ls.Request(config, now_ms=NOW) as req:
        assert req.next_action() is ls.READY
        s = req.session
        assert len(s) == 0 and list(s) == [] and "a" not in s
        s["a"] = 1
        s["b"] = {"nested": [1, 2.5, None, True, "é"]}
        s["c"] = "text"
        assert s["a"] == 1 and s["b"] == {"nested": [1, 2.5, None, True, "é"]} and s["c"] == "text"
        assert "a" in s and 42 not in s
        assert list(s.keys()) == ["a", "b", "c"] and len(s) == 3
        assert dict(s.items()) == {"a": 1, "b": {"nested": [1, 2.5, None, True, "é"]}, "c": "text"}
        assert s.get("missing") is None and s.get("missing", 7) == 7
        with pytest.raises(KeyError):
            s["missing"]
        del s["a"]
        assert "a" not in s
        with pytest.raises(KeyError):
            del s["a"]
        assert s.pop("c") == "text" and "c" not in s
        assert s.increment("n") == 1 and s.increment("n") == 2
        s["t"] = "x"
        assert s.increment("t") == 1  # not a number: starts from 0
        s["f"] = 1.5
        assert s.increment("f") == 2.5
        assert s.to_dict() == {"b": {"nested": [1, 2.5, None, True, "é"]}, "n": 2, "t": 1, "f": 2.5}
        assert req.get("n") == 2 and req.get("zz", "d") == "d"
        req.delete("zz")  # absent keys are fine at the Request level
        assert json.loads(req.data_json()) == s.to_dict()
        record = json.loads(req.session_json())
        assert record["cookie"]["originalMaxAge"] == MAX_AGE and record["n"] == 2
        assert req.cookie == record["cookie"]
        s.update({"u": [1]})
        assert s["u"] == [1]
        s.clear()
        assert len(s) == 0


def test_cookie_operations(config, store):
    with ls.Request(config, now_ms=NOW, session_ids=["cookie-ops"]) as req:
        assert req.next_action() is ls.READY
        req.set_max_age(1000)
        assert req.max_age == 1000
        req.set_max_age(None)
        assert req.max_age is None and req.cookie["expires"] is None
        req.set_expires(NOW + 5000)
        assert req.max_age == 5000
        when = dt.datetime.fromtimestamp((NOW + 9000) / 1000, tz=dt.timezone.utc)
        req.set_expires(when)
        assert req.max_age == 9000
        req.set_expires(None)
        assert req.max_age is None
        req.set_max_age(2000)
        req.set_max_age(500)
        req.touch()  # back to originalMaxAge
        assert req.max_age == 500
        req.set_cookie_attr("sameSite", "strict")
        req.set_cookie_attr("priority", "high")
        req.set_cookie_attr("domain", "example.com")
        req.set_cookie_attr("httpOnly", False)
        req.session["k"] = 1
        out = req.run(store)
    (cookie,) = out.set_cookie
    assert cookie.startswith("connect.sid=s%3Acookie-ops.")
    assert "Domain=example.com" in cookie and "Priority=High" in cookie and "SameSite=Strict" in cookie
    assert "HttpOnly" not in cookie and "Expires=Tue, 14 Nov 2023 22:13:20 GMT" in cookie
    assert json.loads(store.get("cookie-ops"))["cookie"]["sameSite"] == "strict"


def test_save_reload_destroy_regenerate(config, store):
    cookie = new_session(config, store, {"views": 1})
    sid = "sid-one-0123456789abcdef0123456789"
    with ls.Request(config, now_ms=NOW, cookie=cookie, session_ids=["regenerated-id"]) as req:
        assert req.poll_with(store) is ls.READY
        # save: Save, then Completed
        req.session["views"] = 2
        req.save()
        save = req.next_action()
        assert isinstance(save, ls.Save) and json.loads(save.record)["views"] == 2
        store.set(save.id, save.record, save.expires_at)
        req.handle_store_result()
        assert req.next_action() == ls.Completed(None)
        assert req.next_action() is ls.READY
        # reload: Load, then Completed; local changes are replaced
        req.session["views"] = 99
        req.reload()
        load = req.next_action()
        assert isinstance(load, ls.Load) and load.id == sid
        req.handle_load_result(store.get(sid))
        assert req.next_action() == ls.Completed(None)
        assert req.session["views"] == 2
        # regenerate: Destroy of the old one, then a new empty session
        req.regenerate()
        assert req.poll_with(store) == ls.Completed(None)
        assert req.session_id == "regenerated-id" and len(req.session) == 0
        assert sid not in store
        # destroy: the session is gone
        req.destroy()
        destroy = req.next_action()
        assert isinstance(destroy, ls.Destroy) and destroy.id == "regenerated-id"
        req.handle_store_result()
        assert req.next_action() == ls.Completed(None)
        assert not req.has_session and req.session_id == "regenerated-id"
        with pytest.raises(ls.NoSessionError):
            req.session["x"] = 1
        out = req.run(store)
        # clearCookieOnDestroy (a secure default): the cookie is removed.
        assert out.errors == [] and len(out.set_cookie) == 1
        assert out.set_cookie[0].startswith("connect.sid=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT")


def test_failed_operations_complete_with_the_error(config, store):
    cookie = new_session(config, store)
    with ls.Request(config, now_ms=NOW, cookie=cookie) as req:
        assert req.poll_with(store) is ls.READY
        req.save()
        assert isinstance(req.next_action(), ls.Save)
        req.handle_store_result(failed="disk full")
        assert req.next_action() == ls.Completed("disk full")
        assert req.next_action() is ls.READY
        req.reload()
        req.next_action()
        req.handle_load_result(None)  # reload of a missing record is an error
        assert req.next_action() == ls.Completed("failed to load session")


def test_error_after_the_response(config, store):
    with ls.Request(config, now_ms=NOW) as req:
        assert req.next_action() is ls.READY
        req.session["a"] = 1
        req.finish()
        # express-session writes the headers (with the cookie) before the
        # save; its failure comes after, and the response stands.
        assert isinstance(req.next_action(), ls.SetCookie)
        assert isinstance(req.next_action(), ls.Save)
        req.handle_store_result(failed="store exploded")
        assert req.next_action() == ls.Error("store exploded")
        assert req.next_action() is ls.DONE


def test_unset_keep_and_destroy(store):
    for unset, destroyed in (("keep", False), ("destroy", True)):
        with ls.Config(secret=SECRET, max_age=MAX_AGE, unset=unset, session_id_lengths=None) as cfg:
            cookie = new_session(cfg, store, {"v": 1}, sid=f"unset-{unset}")
            with ls.Request(cfg, now_ms=NOW, cookie=cookie) as req:
                assert req.poll_with(store) is ls.READY
                req.unset()
                assert not req.has_session
                assert req.session_id == f"unset-{unset}"
                out = req.run(store)
            # unset "destroy" destroys the session: its cookie is removed
            # (clearCookieOnDestroy); "keep" leaves both alone.
            assert len(out.set_cookie) == (1 if destroyed else 0)
            assert all(c.startswith("connect.sid=; ") for c in out.set_cookie)
            assert (f"unset-{unset}" not in store) == destroyed


def test_out_of_scope_request_has_no_session(store):
    with ls.Config(secret=SECRET, cookie_path="/app") as cfg:
        with ls.Request(cfg, now_ms=NOW, target="/other?x=1") as req:
            assert req.next_action() is ls.READY
            assert not req.has_session and req.session_id is None
            with pytest.raises(ls.NoSessionError) as e:
                req.session["a"] = 1
            assert e.value.code == ls.Result.NO_SESSION
            with pytest.raises(ls.NoSessionError):
                req.session.increment("a")
            with pytest.raises(ls.NoSessionError):
                req.save()
            assert req.session_json() is None
            req.unset()  # allowed with or without a session
        with ls.Request(cfg, now_ms=NOW, target="/app/page") as req:
            assert req.next_action() is ls.READY and req.has_session


def test_security_facts(store):
    with ls.Config(secret=SECRET, secure="auto", proxy=True) as cfg:
        with ls.Request(cfg, now_ms=NOW, forwarded_proto="HTTPS, http") as req:
            out = req.run(store, lambda r: r.session.__setitem__("a", 1))
            assert req.is_secure
        assert "; Secure" in out.set_cookie[0]
        with ls.Request(cfg, now_ms=NOW) as req:
            out = req.run(store, lambda r: r.session.__setitem__("a", 1))
            assert not req.is_secure
        assert "; Secure" not in out.set_cookie[0]
        with ls.Request(cfg, now_ms=NOW, tls=True) as req:
            req.next_action()
            assert req.is_secure
    with ls.Config(secret=SECRET) as cfg:
        with ls.Request(cfg, now_ms=NOW, store_unavailable=True) as req:
            assert req.next_action() is ls.READY and not req.has_session


def test_entropy_and_queued_ids(config, store):
    ids = set()
    for _ in range(3):
        with ls.Request(config, now_ms=NOW) as req:
            req.next_action()
            ids.add(req.session_id)
    assert len(ids) == 3 and all(len(i) == 43 for i in ids)  # os.urandom per request
    seeded = []
    for _ in range(2):
        with ls.Request(config, now_ms=NOW, entropy=bytes(range(32))) as req:
            req.next_action()
            seeded.append(req.session_id)
    assert seeded[0] == seeded[1]  # the same entropy derives the same IDs
    with ls.Request(config, now_ms=NOW, session_ids=["first", "second"]) as req:
        req.push_session_id("third")
        assert req.next_action() is ls.READY and req.session_id == "first"
        req.regenerate()
        assert req.poll_with(store) == ls.Completed(None)
        assert req.session_id == "second" and req.generated_id_count == 2


def test_run_helper(config, store):
    with ls.Request(config, now_ms=NOW) as req:
        out = req.run(store, lambda r: r.session.increment("n"))
    assert out.handler_ran and not out.failed and len(out.set_cookie) == 1 and out.errors == []
    assert "connect.sid" not in repr(out) and out.set_cookie[0] not in repr(out)

    class Broken:
        def get(self, sid):
            raise RuntimeError("connection refused")

    cookie = out.set_cookie[0].split(";")[0]
    with ls.Request(config, now_ms=NOW, cookie=cookie) as req:
        out = req.run(Broken(), lambda r: pytest.fail("the handler must not run"))
    assert out.failed and not out.handler_ran and out.errors == ["connection refused"]


def test_set_now(config, store):
    with ls.Request(config, now_ms=0) as req:
        req.set_now(NOW)
        assert req.next_action() is ls.READY
        assert req.max_age == MAX_AGE
        req.session["a"] = 1
        req.finish()
        assert isinstance(req.next_action(), ls.SetCookie)
        save = req.next_action()
        assert save.expires_at == NOW + MAX_AGE


def test_request_facts_setters(store):
    with ls.Config(secret=SECRET, cookie_path="/app") as cfg:
        with ls.Request(cfg, now_ms=NOW) as req:
            req.set_target(b"/app/x")
            req.add_cookie_header("a=b")
            req.add_cookie_header(b"c=d")
            req.add_forwarded_proto("https")
            req.set_tls(False)
            req.set_store_unavailable(False)
            assert req.next_action() is ls.READY and req.has_session


def test_repr_never_shows_the_session_id(config, store):
    sid = "SECRET-SESSION-ID-do-not-log-me-0000"
    with ls.Request(config, now_ms=NOW, session_ids=[sid]) as req:
        seen = [repr(req), repr(config), repr(store)]
        assert req.next_action() is ls.READY
        req.session["user"] = "alice"
        seen += [repr(req), repr(req.session), repr(ls.READY)]
        req.finish()
        while True:
            act = req.next_action()
            seen.append(repr(act))
            seen.append(str(act))
            if isinstance(act, ls.Save):
                store.set(act.id, act.record, act.expires_at)
                req.handle_store_result()
            elif act is ls.DONE:
                break
    for cls in (ls.Load, ls.Destroy):
        seen.append(repr(cls(sid)))
    seen.append(repr(ls.Touch(sid, "{}", None)))
    seen.append(repr(ls.SetCookie(f"connect.sid=s%3A{sid}.sig")))
    seen.append(repr(store))
    assert any("SetCookie" in s for s in seen)
    for s in seen:
        assert sid not in s, s


def test_actions_are_immutable_values():
    act = ls.Load("x")
    with pytest.raises(AttributeError):
        act.id = "y"
    assert ls.Load("x") == ls.Load("x") and hash(ls.Load("x")) == hash(ls.Load("x"))
    assert ls.Completed(None) != ls.Completed("e")
    match ls.Save("i", "{}", 5):
        case ls.Save(id=i, expires_at=e):
            assert (i, e) == ("i", 5)
        case _:
            pytest.fail("no match")
    match ls.WAIT:
        case ls.Wait():
            pass
        case _:
            pytest.fail("no match")
