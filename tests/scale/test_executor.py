import pytest

from tunewise.errors import BadInputError
from tunewise.scale import Job, run_jobs


def _jobs():
    good = [Job(f"j{i}", "json:dumps", {"obj": {"i": i, "sq": i * i}, "sort_keys": True}) for i in range(3)]
    bad = Job("bad", "json:loads", {"s": "{not json"})
    return [*good, bad]


def _check(outcomes, executor):
    assert [o.key for o in outcomes] == ["j0", "j1", "j2", "bad"]
    assert [o.result for o in outcomes[:3]] == ['{"i": 0, "sq": 0}', '{"i": 1, "sq": 1}', '{"i": 2, "sq": 4}']
    bad = outcomes[3]
    assert not bad.ok and bad.attempts == 2 and "JSONDecodeError" in bad.error
    assert all(o.executor == executor for o in outcomes)


def test_local_pool_reports_failures_after_one_retry():
    seen = []
    outcomes = run_jobs(_jobs(), "local", max_workers=2, on_done=seen.append)
    _check(outcomes, "local")
    assert len(seen) == 4


@pytest.mark.slow
def test_ray_gives_the_same_outcomes_as_local():
    pytest.importorskip("ray")
    _check(run_jobs(_jobs(), "ray", max_workers=2), "ray")


def test_bad_executor_and_duplicate_keys():
    with pytest.raises(BadInputError, match="Did you mean 'ray'"):
        run_jobs(_jobs(), "rey")
    with pytest.raises(BadInputError, match="unique"):
        run_jobs([Job("a", "json:dumps", {"obj": 1}), Job("a", "json:dumps", {"obj": 2})])
