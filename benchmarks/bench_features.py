"""Feature extraction at scale: radlab (dask.distributed) vs the ``pyradiomics`` batch command.

Same demo cases, same parameters (the ``demo`` preset), T2w_pre x tumour_pre per case:
- wall time, radlab on a 2-worker ``radlab.features.local_cluster`` with its start-up in the clock vs
  ``pyradiomics --jobs 2`` (target ratio <= 1.0), and the same on a running cluster
- parallel efficiency of radlab, 1 vs 2 running workers (target >= 85 %)
- worker peak memory (max RSS) at N vs BIG cases (target: flat within 10 %)
- a fully cached rerun vs the first run (target < 5 %)

    python benchmarks/bench_features.py --cases 40 --big 400 [--repeats 3] [--data /tmp/radlab-bench]

Timings are medians over ``--repeats`` runs (each on a new cluster and an empty cache).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cohort(root: Path, n: int):
    import radlab
    from radlab.datasets import make_demo_cohort

    folder = root / f"demo{n}"
    if not (folder / "clinical.csv").exists():
        make_demo_cohort(folder, n_cases=n, n_dicom=0, seed=0, progress=True)
    catalog = root / f"catalog{n}.yaml"
    catalog.write_text(yaml.safe_dump({"version": 1, "cohorts": {"demo": {
        "root": str(folder), "images": {"T2w": "images/{case}/T2w_{timepoint}.nii.gz"}, "timepoints": ["pre"],
        "masks": {"tumour": {"path": "masks/{case}/tumour_{timepoint}.nii.gz", "image": "T2w"}},
        "clinical": {"path": "clinical.csv", "id": "case_id"}}}}))
    return radlab.open_catalog(catalog)["demo"]


def _radlab(cohort, workers: int, cache: Path, *, running: bool = False):
    """(seconds, worker peak RSS in MB, table) for one radlab run on a new ``local_cluster``. ``running``:
    the cluster is started before the clock starts, as for a user whose session keeps a cluster; otherwise
    its start-up is timed too."""
    from distributed import Client

    from radlab.features import extract, local_cluster

    start = time.perf_counter()
    with local_cluster(workers) as cluster, Client(cluster) as client:
        if running:
            start = time.perf_counter()
        df = extract(cohort, "demo", scheduler=client, cache=cache, progress=False)
        seconds = time.perf_counter() - start
        peak = max(client.run(_peak_rss_mb).values())
    return seconds, peak, df


def _pyradiomics(cohort, workdir: Path, jobs: int) -> float:
    from radlab.features import load_params

    rows = ["Image,Mask"]
    for case in cohort.ids:
        ds = cohort.case(case)
        rows.append(f"{ds['T2w_pre'].attrs['source']},{ds['tumour_pre'].attrs['source']}")
    (workdir / "cases.csv").write_text("\n".join(rows) + "\n")
    (workdir / "params.yaml").write_text(yaml.safe_dump(load_params("demo")))
    exe = str(Path(sys.executable).with_name("pyradiomics"))
    start = time.perf_counter()
    subprocess.run([exe, str(workdir / "cases.csv"), "-o", str(workdir / "out.csv"), "-f", "csv", "-p",
                    str(workdir / "params.yaml"), "--jobs", str(jobs), "-v", "1"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--big", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", default=str(Path(tempfile.gettempdir()) / "radlab-bench"))
    args = parser.parse_args()
    root = Path(args.data).resolve()
    root.mkdir(parents=True, exist_ok=True)
    cohort, big = _cohort(root, args.cases), _cohort(root, args.big)
    cohort.headers(progress=False), big.headers(progress=False)  # opening a cohort caches its headers once
    work = Path(tempfile.mkdtemp())
    runs = iter(range(10**6))

    def median(fn):
        return statistics.median(fn() for _ in range(args.repeats))
    try:
        _pyradiomics(cohort, work, 2)  # warm the file system cache and imports for both tools
        t1 = median(lambda: _radlab(cohort, 1, work / f"c{next(runs)}", running=True)[0])
        t2 = median(lambda: _radlab(cohort, 2, work / f"c{next(runs)}", running=True)[0])
        t2_cold = median(lambda: _radlab(cohort, 2, work / f"c{next(runs)}")[0])
        t_py = median(lambda: _pyradiomics(cohort, work, 2))
        _, mem_small, df = _radlab(cohort, 2, work / "cache2")
        start = time.perf_counter()
        from radlab.features import extract

        again = extract(cohort, "demo", cache=work / "cache2", progress=False)
        t_cached = time.perf_counter() - start
        assert again.attrs["provenance"]["computed"] == [] and again.equals(df)
        t_big, mem_big, _ = _radlab(big, 2, work / "cache_big")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    n = args.cases
    print(f"cases: {n} demo cases (T2w_pre x tumour_pre), {df.shape[1]} features, preset 'demo', "
          f"median of {args.repeats} runs")
    print(f"{'measure':<44}{'radlab':>12}{'peer':>12}{'ratio':>9}  target")
    print(f"{'wall time incl. cluster start vs pyradiomics --jobs 2 (s)':<44}{t2_cold:>12.2f}"
          f"{t_py:>12.2f}{t2_cold / t_py:>9.2f}  <= 1.0")
    print(f"{'  the same on a running 2-worker cluster (s)':<44}{t2:>12.2f}{t_py:>12.2f}{t2 / t_py:>9.2f}")
    print(f"{'parallel efficiency 1 -> 2 workers':<44}{t1:>12.2f}{t2:>12.2f}{t1 / (2 * t2):>9.0%}  >= 85%")
    print(f"{f'worker peak RSS (MB), {n} vs {args.big} cases':<44}{mem_small:>12.0f}{mem_big:>12.0f}"
          f"{mem_big / mem_small:>9.2f}  within 10%  ({args.big} cases: {t_big:.1f} s)")
    print(f"{'fully cached rerun vs first run (s)':<44}{t_cached:>12.2f}{t2:>12.2f}{t_cached / t2:>9.1%}  < 5%")


if __name__ == "__main__":
    main()
