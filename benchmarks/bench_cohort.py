"""Open a 1,000-case catalog and build every case lazily, against an eager load of the same cases.

Targets (issue 2): lazy open + every .case() under 2 s and under 300 MB, at least 50x faster than eager.
Each measurement runs in a fresh process so peak memory (ru_maxrss) belongs to it alone.

    python benchmarks/bench_cohort.py [--cases 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"

CATALOG = """
cohorts:
  big:
    root: {root}
    images:
      T2w: images/{{case}}/T2w_{{timepoint}}.nii.gz
      ADC: images/{{case}}/ADC_{{timepoint}}.nii.gz
    timepoints: [pre, post]
    masks:
      tumour: {{path: "masks/{{case}}/tumour_{{timepoint}}.nii.gz", image: T2w}}
    clinical: {{path: clinical.csv, id: case_id}}
    outcomes: {{label: pcr, time: os_months, event: os_event}}
    batch: [centre]
"""


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def lazy(catalog: str) -> dict:
    import radlab
    import radlab.cohort  # noqa: F401  (library imports are paid once per process, not per cohort)

    base = _rss_mb()
    t0 = time.perf_counter()
    cohort = radlab.open_catalog(catalog)["big"]
    cases = [cohort.case(i) for i in cohort.ids]
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "peak_mb": _rss_mb(), "after_imports_mb": base, "cases": len(cases),
            "variables": sum(len(c.data_vars) for c in cases)}


def eager(catalog: str) -> dict:
    import SimpleITK as sitk

    import radlab

    cohort = radlab.open_catalog(catalog)["big"]
    files = [f.path for i in cohort.ids for f in cohort._files(i)]
    base = _rss_mb()
    t0 = time.perf_counter()
    arrays = [sitk.GetArrayFromImage(sitk.ReadImage(p)) for p in files]
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "peak_mb": _rss_mb(), "after_imports_mb": base, "files": len(arrays),
            "gigabytes": sum(a.nbytes for a in arrays) / 1e9}


def run(mode: str, catalog: str, cache: str) -> dict:
    env = {**os.environ, "RADLAB_CACHE": cache}
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--catalog", catalog], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--child", choices=["lazy", "eager"])
    parser.add_argument("--catalog")
    args = parser.parse_args()
    if args.child:
        print(json.dumps((lazy if args.child == "lazy" else eager)(args.catalog)))
        return

    from radlab.datasets import make_demo_cohort

    root = DATA / f"demo{args.cases}"
    if not (root / "clinical.csv").exists():
        print(f"generating a {args.cases}-case demo cohort in {root} (once) ...", flush=True)
        make_demo_cohort(root, n_cases=args.cases, n_dicom=0, progress=True)
    catalog = Path(tempfile.mkdtemp()) / "catalog.yaml"
    catalog.write_text(CATALOG.format(root=root))
    cache = tempfile.mkdtemp()

    cold = run("lazy", str(catalog), cache)  # empty header cache: reads every header once
    warm = run("lazy", str(catalog), cache)  # header cache from the first run
    full = run("eager", str(catalog), cache)
    print(f"\n{args.cases} cases, {warm['variables']} image/mask variables, {full['gigabytes']:.2f} GB of voxels\n")
    print(f"{'':38}{'wall time':>12}{'peak RSS':>12}{'RSS after imports':>20}")
    for name, r in (("radlab lazy, cold header cache", cold), ("radlab lazy, warm header cache", warm),
                    ("eager SimpleITK load of every file", full)):
        print(f"{name:38}{r['seconds']:>10.2f} s{r['peak_mb']:>9.0f} MB{r['after_imports_mb']:>17.0f} MB")
    print(f"\nspeed-up over eager: warm {full['seconds'] / warm['seconds']:.0f}x, cold {full['seconds'] / cold['seconds']:.0f}x")
    print(f"targets: warm < 2 s -> {'met' if warm['seconds'] < 2 else 'NOT met'}; "
          f"peak < 300 MB -> {'met' if warm['peak_mb'] < 300 else 'NOT met'}; "
          f">= 50x -> {'met' if full['seconds'] / warm['seconds'] >= 50 else 'NOT met'}")


if __name__ == "__main__":
    main()
