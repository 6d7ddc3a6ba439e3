"""Deep-learning benchmark (a script, not a test): run ``.venv/bin/python benchmarks/bench_dl.py``.

1. Train the demo-sized 3D CNN for one CV fold (target: under 5 minutes on a 2-core CPU). Data: a synthetic
   cohort grid (radlab.dl.synthetic_grid, 120 cases x 2 channels x 32^3), shaped like ``cohort.to_grid``.
2. Grad-CAM and Integrated Gradients (32 steps) on one 2-channel 64^3 volume (target: under 2 s on CPU),
   beside Captum doing the same on the same model and input, as a ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import xarray as xr
from captum.attr import IntegratedGradients, LayerAttribution, LayerGradCam

from radlab.dl import (Augment, ChannelNormalizer, ResNet, BoxDataset, default_device,
                       grouped_splits, predict, synthetic_grid, train)
from radlab.dl._cv import _inner_split
from radlab.explain._saliency import saliency

WIDTHS = (8, 16, 32)  # the demo 3D CNN


def bench_training(epochs: int) -> dict:
    grid, _, labels = synthetic_grid(120, shape=(32, 32, 32), n_channels=2, radius=5, contrast=1.0)
    _, _, train_cases, test_cases = next(grouped_splits(labels, n_splits=5, n_repeats=1))
    fit, val = _inner_split(labels.loc[train_cases], None, 0.15, 0)
    t0 = time.perf_counter()
    norm = ChannelNormalizer().fit(grid.sel(case=fit))
    torch.manual_seed(0)
    result = train(ResNet(2, dim=3, widths=WIDTHS), BoxDataset(grid, labels, cases=fit, normalizer=norm),
                   BoxDataset(grid, labels, cases=val, normalizer=norm), epochs=epochs, batch_size=16, lr=3e-3,
                   augment=Augment(), patience=6, progress=False)
    pred = predict(result.model, BoxDataset(grid, labels, cases=test_cases, normalizer=norm))
    seconds = time.perf_counter() - t0
    from sklearn.metrics import roc_auc_score

    return {"seconds": seconds, "epochs_run": len(result.history), "best_epoch": result.best_epoch,
            "validation_auc": result.best_score, "test_auc": roc_auc_score(pred.label, pred.score),
            "n_fit": len(fit), "n_val": len(val), "n_test": len(test_cases)}


def _best_of_interleaved(a, b, repeats):
    """Best of ``repeats`` timings of each, alternating a and b (the CPU is shared with other work)."""
    a(), b()  # warm-up
    times = {0: [], 1: []}
    for _ in range(repeats):
        for k, fn in enumerate((a, b)):
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return min(times[0]), min(times[1])


def bench_saliency(repeats: int, stem_stride: int) -> list[dict]:
    torch.manual_seed(0)
    net = ResNet(2, dim=3, widths=WIDTHS, stem_stride=stem_stride).eval()
    image = xr.DataArray(np.random.default_rng(0).normal(size=(2, 64, 64, 64)).astype("float32"),
                         dims=("channel", "z", "y", "x"))
    x = torch.as_tensor(image.values)[None].requires_grad_()
    layer = getattr(net, f"layer{len(WIDTHS)}")

    def captum_gradcam():
        a = LayerGradCam(net, layer).attribute(x, target=0, relu_attributions=True)
        return LayerAttribution.interpolate(a, (64, 64, 64), interpolate_mode="trilinear")

    def captum_ig():
        return IntegratedGradients(net).attribute(x, baselines=0.0, target=0, n_steps=32, internal_batch_size=16)

    rows = []
    for name, ours, theirs in [
        ("Grad-CAM (last block)", lambda: saliency(net, image, method="gradcam"), captum_gradcam),
        ("Integrated Gradients (32 steps)",
         lambda: saliency(net, image, method="integrated_gradients", n_steps=32, batch_size=16), captum_ig),
    ]:
        a = ours().values
        b = theirs().detach().numpy()[0]
        ours_s, theirs_s = _best_of_interleaved(ours, theirs, repeats)
        rows.append({"method": name, "stem_stride": stem_stride, "radlab_s": ours_s, "captum_s": theirs_s,
                     "max_abs_diff": float(np.abs(a - b.reshape(a.shape)).max()),
                     "scale": float(np.abs(b).max())})
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {default_device()}")
    for row in bench_saliency(args.repeats, 2) + bench_saliency(args.repeats, 1):
        print(f"{row['method']:32s} stem stride {row['stem_stride']}: radlab {row['radlab_s']:.3f} s  captum {row['captum_s']:.3f} s  "
              f"ratio radlab/captum {row['radlab_s'] / row['captum_s']:.2f}  "
              f"max |diff| {row['max_abs_diff']:.2e} (max |map| {row['scale']:.2e})")
    r = bench_training(args.epochs)
    print(f"3D CNN {WIDTHS}, one CV fold (fit {r['n_fit']}, validation {r['n_val']}, test {r['n_test']} cases, "
          f"2 x 32^3): {r['seconds']:.1f} s for {r['epochs_run']} epochs (best epoch {r['best_epoch']}, "
          f"validation AUC {r['validation_auc']:.3f}, test AUC {r['test_auc']:.3f})")


if __name__ == "__main__":
    main()
