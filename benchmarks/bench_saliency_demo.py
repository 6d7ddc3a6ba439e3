"""Saliency on the demo cohort: train a small 3D CNN for pCR on the pre-treatment tumour grid (centres A-C),
then ask each method where it looks on the external centre D, against the tumour mask (the generator puts the
signal in the tumour: its ADC, texture and size). Prints each method's share of |saliency| inside the tumour,
the share a uniform map would have, the pointing-game hit rate and the time.

    python benchmarks/bench_saliency_demo.py     (needs `make data`)
"""
import time

import numpy as np
import pandas as pd
import torch

import radlab
from radlab.dl import BoxDataset, ChannelNormalizer, ResNet, train
from radlab.evaluation import RocCurve
from radlab.explain import SALIENCY_METHODS, localization_report

torch.set_num_threads(2)
c = radlab.open_cohort("demo")
grid = c.to_grid(spacing=(3.0, 1.0, 1.0), shape=(16, 48, 48), crop="roi", images=["T2w_pre", "ADC_pre"],
                 mask="tumour_pre", include_mask=True).compute()
images, masks = grid.isel(channel=[0, 1]), grid.sel(channel="tumour_pre", drop=True)
cl = c.clinical
train_ids = list(cl.index[cl.centre != "D"]); test_ids = list(cl.index[cl.centre == "D"])
norm = ChannelNormalizer().fit(images.sel(case=train_ids))
x = norm.transform(images)
y = cl["pcr"]
rng = np.random.default_rng(0); val = list(rng.choice(train_ids, 20, replace=False)); fit = [i for i in train_ids if i not in val]
net = ResNet(2, dim=3, widths=(8, 16, 32), stem_stride=2)
t = time.time()
res = train(net, BoxDataset(x, y, cases=fit), BoxDataset(x, y, cases=val), epochs=25, patience=6, progress=False)
print("trained", round(time.time() - t, 1), "s")
with torch.no_grad():
    logits = net(torch.as_tensor(x.sel(case=test_ids).values, dtype=torch.float32))[:, 0].numpy()
print("external AUC", round(RocCurve.from_predictions(y[test_ids], logits, n_bootstraps=0).auc, 3))
rep = localization_report(net.eval(), x.sel(case=test_ids), masks.sel(case=test_ids), methods=SALIENCY_METHODS)
pd.set_option("display.width", 200)
print(rep.round(3))
