"""The vendored express-session conformance vectors (named: 107 scenarios,
random-public: 300) replayed through the Python binding: every scenario must
pass (tests/conformance_runner.py ports tests/conformance/runner.rs)."""

from __future__ import annotations

from pathlib import Path

import pytest

import conformance_runner as runner

VECTORS = Path(__file__).resolve().parents[3] / "tests" / "conformance" / "vectors"
FILES = {"named.json": 107, "random-public.json": 300}


def _cases():
    out = []
    for name in FILES:
        for sc in runner.load_scenarios(str(VECTORS / name)):
            out.append(pytest.param(sc, id=f"{name[:-5]}:{runner.str_of(sc.get('name'))}"))
    return out


CASES = _cases()


def test_the_corpus_is_complete():
    counts = {name: len(runner.load_scenarios(str(VECTORS / name))) for name in FILES}
    assert counts == FILES
    assert len(CASES) == sum(FILES.values()) == 407


@pytest.mark.parametrize("path", ["stored", "text"])
@pytest.mark.parametrize("scenario", CASES)
def test_scenario(scenario, path):
    """Every scenario through both load paths: records kept as the engine
    made them (handles), and records kept as text."""
    try:
        runner.run_scenario(scenario, stored=path == "stored")
    except runner.Mismatch as e:
        pytest.fail(str(e), pytrace=False)


def test_the_runner_detects_mismatches():
    """A runner that cannot fail proves nothing: corrupt expectations and
    check that each is reported."""
    import copy

    base = runner.load_scenarios(str(VECTORS / "named.json"))[0]
    mutations = [
        lambda s: s["steps"][0]["expect"]["set_cookie"].append("extra"),
        lambda s: s["steps"][0]["expect"].__setitem__("status", 500),
        lambda s: s["steps"][0]["expect"]["store_calls"].append({"op": "get", "sid": "x"}),
        lambda s: s["steps"][0]["expect"]["store_after"].__setitem__("ghost", {}),
        lambda s: s["steps"][0]["expect"]["snapshots"][0].__setitem__("maxAge", 1),
        lambda s: s["steps"][0]["expect"]["ops"][0].__setitem__("result", "no_session"),
        lambda s: s["ids"].append("never-used"),
        lambda s: s["ids"].clear(),
        lambda s: s["steps"][0]["expect"]["errors"].append("injected store get fault"),
    ]
    runner.run_scenario(copy.deepcopy(base))  # the original passes
    for mutate in mutations:
        sc = copy.deepcopy(base)
        mutate(sc)
        with pytest.raises(runner.Mismatch):
            runner.run_scenario(sc)
