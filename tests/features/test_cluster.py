"""extract() on a real multi-process dask cluster (``dask scheduler`` + two ``dask worker`` processes on
127.0.0.1, random ports), and an interrupted run that resumes from the cache."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from radlab.features import extract
from radlab.features._case import compute_case

SMALL = {"setting": {"binCount": 16, "label": 1}, "imageType": {"Original": {}},
         "featureClass": {"firstorder": ["Mean", "Entropy"], "glcm": ["Contrast"], "shape": ["VoxelVolume"]}}
DASK = str(Path(sys.executable).with_name("dask"))


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def cluster(tmp_path):
    """Scheduler address of a dask scheduler and two single-thread workers, torn down afterwards."""
    from distributed import Client

    sched_file = tmp_path / "scheduler.json"
    log = open(tmp_path / "cluster.log", "w")
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(sched_file)], stdout=log, stderr=log)]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        for _ in range(2):
            procs.append(subprocess.Popen([DASK, "worker", "--scheduler-file", str(sched_file), "--nworkers", "1",
                                           "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"],
                                          stdout=log, stderr=log))
        with Client(scheduler_file=str(sched_file)) as client:
            client.wait_for_workers(2, timeout=60)
            address = client.scheduler.address
            assert len(set(client.run(os.getpid).values()) - {os.getpid()}) == 2  # two other processes
        yield address
    finally:
        for p in reversed(procs):
            _stop(p)
        log.close()


@pytest.mark.slow
@pytest.mark.cluster
def test_cluster_gives_the_same_values_as_local(cluster, synthetic_case, tmp_path, monkeypatch):
    from distributed import Client

    cases = [(f"c{i}", synthetic_case(i, two_sequences=True)) for i in range(4)]
    local = extract(cases, SMALL, scheduler="sync", cache=False, progress=False)
    remote = extract(cases, SMALL, scheduler=cluster, cache=tmp_path / "a", progress=False)
    pd.testing.assert_frame_equal(remote, local, check_exact=True)
    monkeypatch.setenv("RADLAB_SCHEDULER", cluster)  # the address from the environment
    from_env = extract(cases, SMALL, cache=tmp_path / "b", progress=False)
    pd.testing.assert_frame_equal(from_env, local, check_exact=True)
    # the records were written by the worker processes, not by this one
    assert len(list((tmp_path / "b").glob("*/c*.json"))) == 4
    with Client(cluster) as client:  # workers run SimpleITK single-threaded once they have run a case
        assert set(client.run(_itk_threads).values()) == {1}


# a lambda travels by value: workers started from the command line cannot import this test module
_itk_threads = lambda: __import__("SimpleITK").ProcessObject.GetGlobalDefaultNumberOfThreads()  # noqa: E731


@pytest.mark.slow
@pytest.mark.cluster
def test_default_local_cluster(synthetic_case, tmp_path, monkeypatch):
    monkeypatch.delenv("RADLAB_SCHEDULER", raising=False)
    cases = [(f"c{i}", synthetic_case(i)) for i in range(2)]
    threads = _itk_threads()
    local = extract(cases, SMALL, scheduler="sync", cache=False, progress=False)
    pd.testing.assert_frame_equal(extract(cases, SMALL, n_workers=1, cache=False, progress=False), local)
    assert _itk_threads() == threads  # only workers are made single-threaded, not this process


@pytest.mark.slow
@pytest.mark.cluster
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")
def test_local_cluster_forks_workers_with_pyradiomics_loaded(synthetic_case, tmp_path):
    from distributed import Client

    from radlab.features import local_cluster

    from radlab.features import errors

    empty = synthetic_case(9)
    empty["tumour"].values[:] = 0
    cases = [(f"c{i}", synthetic_case(i)) for i in range(3)] + [("bad", empty)]
    local = extract(cases, SMALL, scheduler="sync", cache=False, progress=False)
    with local_cluster(2) as cluster, Client(cluster) as client:
        info = client.run(lambda: ("radiomics.featureextractor" in sys.modules, os.getppid()))
        assert len(info) == 2 and all(ok for ok, _ in info.values())
        assert {ppid for _, ppid in info.values()} == {os.getpid()}  # children of this process
        # records come back through the cache folder, or from the workers without a cache
        for cache in (tmp_path, False):
            df = extract(cases, SMALL, scheduler=client, cache=cache, progress=False)
            pd.testing.assert_frame_equal(df, local)
            assert errors(df).case.tolist() == ["bad"] and "empty" in errors(df).message[0]
        assert set(client.run(_itk_threads).values()) == {1}


RUN = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {tests!r})
    from conftest import _synthetic_case
    import radlab.features._extract as ex
    from radlab.features._case import compute_case

    def slow(*args, **kwargs):  # make each case take a while so the run can be killed in the middle
        out = compute_case(*args, **kwargs)
        time.sleep(0.4)
        return out

    ex.compute_case = slow
    cases = [(f"c{{i:02d}}", _synthetic_case(i)) for i in range(12)]
    ex.extract(cases, {params!r}, scheduler="sync", cache={cache!r}, progress=False)
""")


@pytest.mark.slow
def test_killed_run_resumes_without_recomputing_cached_cases(synthetic_case, tmp_path):
    cache = tmp_path / "cache"
    script = tmp_path / "run.py"
    script.write_text(RUN.format(tests=str(Path(__file__).parent), params=SMALL, cache=str(cache)))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(list(cache.glob("*/c*.json"))) < 4 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)  # no chance to clean up
        proc.wait()
    finally:
        _stop(proc)
    done = {p: p.stat().st_mtime_ns for p in cache.glob("*/c*.json")}
    assert 4 <= len(done) < 12, "the run must be killed in the middle"
    cases = [(f"c{i:02d}", synthetic_case(i)) for i in range(12)]
    df = extract(cases, SMALL, scheduler="sync", cache=cache, progress=False)
    prov = df.attrs["provenance"]
    cached_before = {p.name.split("-")[0] for p in done}
    assert set(prov["cached"]) == cached_before
    assert set(prov["computed"]) == {c for c, _ in cases} - cached_before
    assert {p: p.stat().st_mtime_ns for p in done} == done  # no cached record rewritten
    assert len(df) == 12 and not list(cache.glob("*/*.tmp"))
    pd.testing.assert_frame_equal(df, extract(cases, SMALL, scheduler="sync", cache=False, progress=False))


def _die_on_boom(case, *args, **kwargs):
    if case == "boom":
        os._exit(1)  # the worker process dies mid-task
    return compute_case(case, *args, **kwargs)


@pytest.mark.slow
@pytest.mark.cluster
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked workers inherit the patched function")
def test_a_case_that_kills_its_worker_is_reported_and_the_others_complete(synthetic_case, tmp_path, monkeypatch):
    import dask
    from distributed import Client

    import radlab.features._extract as ex
    from radlab.features import errors, local_cluster

    monkeypatch.setattr(ex, "compute_case", _die_on_boom)
    cases = [("c0", synthetic_case(0)), ("boom", synthetic_case(1)), ("c2", synthetic_case(2))]
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), local_cluster(2) as cluster, \
            Client(cluster) as client:
        df = extract(cases, SMALL, scheduler=client, cache=tmp_path, progress=False)
    assert list(df.index) == ["c0", "c2"]
    table = errors(df)
    assert table.case.tolist() == ["boom"] and "workers died while running it" in table.message[0]
