"""Networks, augmentation, the training loop (class weights, seeds, early stopping) and prediction."""

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from radlab.dl import (  # noqa: E402
    Augment,
    BoxDataset,
    ChannelNormalizer,
    ResNet,
    SliceDataset,
    aggregate_slices,
    load_model,
    predict,
    save_model,
    synthetic_grid,
    train,
)
from radlab.dl._train import _class_weights  # noqa: E402


@pytest.mark.parametrize("dim,shape", [(2, (3, 2, 17, 20)), (3, (2, 2, 9, 16, 15))])
def test_resnet_shapes_and_named_layers(dim, shape):
    net = ResNet(2, dim=dim, widths=(4, 8, 16), n_outputs=3)
    assert net(torch.zeros(shape)).shape == (shape[0], 3)
    names = [n for n, _ in net.named_children()]
    assert names == ["stem", "layer1", "layer2", "layer3", "pool", "dropout", "fc"]
    with pytest.raises(ValueError, match="'dim' parameter of ResNet"):
        ResNet(1, dim=1)


def test_save_and_load_roundtrip(tmp_path):
    torch.manual_seed(0)
    net = ResNet(2, dim=3, widths=(4, 8)).eval()
    save_model(net, tmp_path / "w.pt")
    loaded = load_model(tmp_path / "w.pt").eval()
    x = torch.randn(2, 2, 8, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), net(x))


def test_augment_identity_flip_and_seed():
    x = torch.randn(3, 2, 4, 10, 12)
    g = torch.Generator().manual_seed(0)
    # no rotation, no zoom, no flip: bilinear resampling at voxel centres returns the input
    torch.testing.assert_close(Augment(flip=False, rotate=0, zoom=(1, 1))(x, g), x, atol=1e-5, rtol=1e-5)
    out = Augment(flip=True, rotate=0, zoom=(1, 1))(x, g)
    for i in range(3):  # each sample is the input flipped along some subset of (y, x)
        candidates = [x[i], x[i].flip(-1), x[i].flip(-2), x[i].flip(-1).flip(-2)]
        assert min(float((out[i] - c).abs().max()) for c in candidates) < 1e-5
    a = Augment()(x, torch.Generator().manual_seed(5))
    b = Augment()(x, torch.Generator().manual_seed(5))
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, x)
    with pytest.raises(ValueError, match="'zoom' parameter"):
        Augment(zoom=(1.2, 1.1))


def test_balanced_class_weights():
    w = _class_weights(np.array([0, 0, 0, 1.0]), "balanced")
    assert w == {0: pytest.approx(4 / 6), 1: pytest.approx(2.0)}  # n / (2 n_c), as sklearn's "balanced"
    assert _class_weights(np.array([0, 1.0]), {0: 1, 1: 3}) == {0: 1.0, 1: 3.0}
    with pytest.raises(ValueError, match="both classes"):
        _class_weights(np.zeros(4), "balanced")


@pytest.fixture(scope="module")
def data():
    grid, mask, labels = synthetic_grid(40, shape=(4, 16, 16), radius=3, random_state=2)
    fit, val = list(labels.index[:30]), list(labels.index[30:])
    norm = ChannelNormalizer().fit(grid.sel(case=fit))
    return grid, mask, labels, fit, val, norm


def _run(data, seed, net=None, **kw):
    grid, mask, labels, fit, val, norm = data
    torch.manual_seed(seed)
    net = net or ResNet(2, dim=2, widths=(4, 8))
    return train(net, SliceDataset(grid, labels, cases=fit, mask=mask, normalizer=norm),
                 SliceDataset(grid, labels, cases=val, mask=mask, normalizer=norm), random_state=seed,
                 progress=False, device="cpu", **kw)


@pytest.mark.slow
def test_training_learns_is_reproducible_and_stops_early(data):
    a = _run(data, 0, epochs=4, lr=3e-3, augment=Augment())
    b = _run(data, 0, epochs=4, lr=3e-3, augment=Augment())
    pd.testing.assert_frame_equal(a.history, b.history)  # seeds fix init, shuffling, augmentation
    h = a.history
    best = h.sort_values(["validation_auc", "validation_loss"], ascending=[False, True], kind="stable").index[0]
    assert a.best_score > 0.85 and a.best_epoch == best  # highest AUC, ties broken by the lower loss
    # lr = 0 and no batch norm: the model never changes, so patience 2 stops after epoch 2
    still = torch.nn.Sequential(torch.nn.Conv2d(2, 2, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                                torch.nn.Linear(2, 1))
    frozen = _run(data, 1, net=still, epochs=10, lr=0.0, patience=2)
    assert list(frozen.history["epoch"]) == [0, 1, 2] and frozen.best_epoch == 0


def test_predict_and_slice_aggregation(data):
    grid, mask, labels, fit, val, norm = data
    torch.manual_seed(0)
    net = ResNet(2, dim=2, widths=(4,)).eval()
    ds = SliceDataset(grid, labels, cases=val, mask=mask, normalizer=norm)
    pred = predict(net, ds)
    assert list(pred.columns) == ["case", "z", "score", "label"] and len(pred) == len(ds)
    with torch.no_grad():
        x, _ = ds[3]
        assert pred["score"].iloc[3] == pytest.approx(torch.sigmoid(net(x[None]))[0, 0].item(), rel=1e-5)
    per_case = aggregate_slices(pred)
    assert list(per_case["case"]) == val
    ref = pred.groupby("case")["score"].mean()
    np.testing.assert_allclose(per_case.set_index("case")["score"], ref.loc[val])
    assert aggregate_slices(pred, how="max").set_index("case")["score"].ge(per_case.set_index("case")["score"]).all()
    with pytest.raises(ValueError, match="'how' parameter"):
        aggregate_slices(pred, how="mode")
    box = predict(ResNet(2, dim=3, widths=(4,)), BoxDataset(grid, labels, cases=val, normalizer=norm))
    assert (box["z"] == -1).all() and len(box) == len(val)
