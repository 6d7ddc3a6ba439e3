"""Saliency maps: agreement with Captum on the same model and input, independent reference computations
(closed forms, brute force, the IG completeness axiom), and coordinates kept for overlays."""

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")

from radlab.dl import ResNet  # noqa: E402
from radlab.explain._saliency import METHODS, saliency  # noqa: E402

# float32 models; Captum and radlab sum gradients in different orders: agreement to 1e-4 relative,
# 1e-5 of the map's largest magnitude absolute.
RTOL, ATOL = 1e-4, 1e-5


def _net(dim, channels=2, seed=0):
    torch.manual_seed(seed)
    net = ResNet(channels, dim=dim, widths=(4, 8))
    with torch.no_grad():  # non-trivial batch-norm statistics, so eval mode differs from identity
        for m in net.modules():
            if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    return net.eval()


def _image(dim, channels=2, size=12, seed=0):
    rng = np.random.default_rng(seed)
    spatial = ("z", "y", "x")[-dim:]
    shape = (channels,) + (size,) * dim
    coords = {d: 0.7 * np.arange(size) + 3.0 for d in spatial} | {"channel": [f"s{i}" for i in range(channels)]}
    return xr.DataArray(rng.normal(size=shape).astype("float32"), dims=("channel",) + spatial, coords=coords,
                        attrs={"spacing": (0.7,) * 3})


def _close(ours, ref):
    ref = ref.detach().numpy()[0]
    np.testing.assert_allclose(ours, ref, rtol=RTOL, atol=ATOL * max(np.abs(ref).max(), 1e-12))


# Captum announces its own ReLU hooks for guided backprop with a UserWarning on every call.
CAPTUM_RELU_HOOKS = pytest.mark.filterwarnings("ignore:Setting backward hooks on ReLU activations:UserWarning")


@CAPTUM_RELU_HOOKS
@pytest.mark.parametrize("dim", [2, 3])
def test_gradient_methods_match_captum(dim):
    net, img = _net(dim), _image(dim)
    x = torch.as_tensor(img.values)[None].requires_grad_()  # Captum warns unless inputs require grad
    _close(saliency(net, img, method="gradient").values,
           captum_attr.Saliency(net).attribute(x, target=0, abs=False))
    _close(saliency(net, img, method="guided_backprop").values,
           captum_attr.GuidedBackprop(net).attribute(x, target=0))
    for integration in ("gausslegendre", "riemann_middle"):
        ours = saliency(net, img, method="integrated_gradients", n_steps=32, integration=integration)
        ref = captum_attr.IntegratedGradients(net).attribute(x, baselines=0.0, target=0, n_steps=32,
                                                             method=integration)
        _close(ours.values, ref)


@pytest.mark.parametrize("dim", [2, 3])
def test_smoothgrad_matches_captum_noise_tunnel(dim):
    # Same noise: Captum draws torch.normal from the global generator, radlab from its own seeded one.
    net, img = _net(dim), _image(dim)
    x = torch.as_tensor(img.values)[None].requires_grad_()  # Captum warns unless inputs require grad
    sd = 0.15 * float(img.max() - img.min())
    ours = saliency(net, img, method="smoothgrad", n_samples=8, noise=0.15, random_state=7).values
    torch.manual_seed(7)
    ref = captum_attr.NoiseTunnel(captum_attr.Saliency(net)).attribute(
        x, nt_type="smoothgrad", nt_samples=8, stdevs=sd, target=0, abs=False)
    _close(ours, ref)


@CAPTUM_RELU_HOOKS
@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("layer", ["layer1", "layer2"])
def test_gradcam_and_guided_gradcam_match_captum(dim, layer):
    net, img = _net(dim), _image(dim)
    x = torch.as_tensor(img.values)[None].requires_grad_()  # Captum warns unless inputs require grad
    mode = "bilinear" if dim == 2 else "trilinear"
    gc = captum_attr.LayerGradCam(net, getattr(net, layer)).attribute(x, target=0, relu_attributions=True)
    ref = captum_attr.LayerAttribution.interpolate(gc, tuple(x.shape[2:]), interpolate_mode=mode)
    ours = saliency(net, img, method="gradcam", layer=layer)
    assert ours.dims == img.dims[1:]
    _close(ours.values, ref[0])
    ref = captum_attr.GuidedGradCam(net, getattr(net, layer)).attribute(x, target=0, interpolate_mode="nearest")
    _close(saliency(net, img, method="guided_gradcam", layer=layer, interpolation="nearest").values, ref)


@pytest.mark.parametrize("dim,window,stride", [(2, (3, 3), (2, 2)), (2, (4, 5), (4, 3)), (3, (4, 4, 4), (3, 3, 3))])
def test_occlusion_matches_captum(dim, window, stride):
    net, img = _net(dim), _image(dim, size=10)
    x = torch.as_tensor(img.values)[None]
    ref = captum_attr.Occlusion(net).attribute(x, sliding_window_shapes=(2,) + window, strides=(2,) + stride,
                                               baselines=0.0, target=0)
    _close(saliency(net, img, method="occlusion", window=window, stride=stride).values, ref)


def test_occlusion_single_voxel_is_brute_force_output_drop():
    net, img = _net(2, channels=1), _image(2, channels=1, size=6)
    x = torch.as_tensor(img.values)[None]
    with torch.no_grad():
        ref = net(x)[0, 0]
        expected = np.zeros((6, 6), np.float32)
        for i in range(6):
            for j in range(6):
                y = x.clone()
                y[0, 0, i, j] = 0.0
                expected[i, j] = ref - net(y)[0, 0]
    ours = saliency(net, img, method="occlusion", window=(1, 1), stride=(1, 1)).values[0]
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)


class _Linear(torch.nn.Module):
    """f(x) = <w, x> + 1: gradient w everywhere, IG exactly w * (x - b), SmoothGrad exactly w."""

    def __init__(self, shape):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(shape, generator=torch.Generator().manual_seed(3)))

    def forward(self, x):
        return ((x * self.w).flatten(1).sum(1) + 1.0)[:, None]


@pytest.mark.parametrize("method", ["gradient", "smoothgrad", "integrated_gradients", "guided_backprop"])
def test_linear_model_closed_forms(method):
    img = _image(3, channels=1, size=5)
    net = _Linear(img.shape)
    w = net.w.detach().numpy()
    expected = w * img.values if method == "integrated_gradients" else w
    np.testing.assert_allclose(saliency(net, img, method=method, n_steps=4).values, expected, rtol=1e-5, atol=1e-6)


def test_gradient_matches_central_differences():
    # float64 model: central difference with h=1e-4 approximates the derivative to ~1e-6 (ReLU kinks aside).
    net, img = _net(2).double(), _image(2, size=8)
    g = saliency(net, img.astype("float64"), method="gradient").values
    x = torch.as_tensor(img.values, dtype=torch.float64)[None]
    rng = np.random.default_rng(0)
    for idx in [tuple(rng.integers(0, s) for s in img.shape) for _ in range(5)]:
        e = torch.zeros_like(x)
        e[(0,) + idx] = 1e-4
        with torch.no_grad():
            fd = (net(x + e) - net(x - e))[0, 0].item() / 2e-4
        assert g[idx] == pytest.approx(fd, rel=1e-3, abs=1e-6)


@pytest.mark.parametrize("dim", [2, 3])
def test_integrated_gradients_completeness_and_riemann_sum(dim):
    net, img = _net(dim).double(), _image(dim, size=8).astype("float64")
    x = torch.as_tensor(img.values)[None]
    ig = saliency(net, img, method="integrated_gradients", n_steps=64, integration="riemann_middle")
    # Independent Riemann sum: explicit loop over path points with plain autograd (float64 path).
    ref = torch.zeros_like(x)
    for k in range(64):
        p = ((k + 0.5) / 64 * x).requires_grad_(True)
        (grad,) = torch.autograd.grad(net(p)[0, 0], p)
        ref += grad / 64
    np.testing.assert_allclose(ig.values, (ref * x)[0].numpy(), rtol=1e-4, atol=1e-6)
    # Completeness (Sundararajan et al. 2017): sum of IG = f(x) - f(0); 64 midpoint steps on a piecewise-linear
    # path are accurate to a few percent of the output change.
    with torch.no_grad():
        delta = (net(x) - net(torch.zeros_like(x)))[0, 0].item()
    assert float(ig.sum()) == pytest.approx(delta, rel=0.03, abs=1e-3)


def test_batch_of_cases_equals_one_by_one_and_keeps_coords():
    net = _net(3)
    imgs = xr.concat([_image(3, seed=s) for s in range(3)], dim="case").assign_coords(case=["a", "b", "c"])
    for method in ("gradcam", "integrated_gradients"):
        batch = saliency(net, imgs, method=method, n_steps=8)
        assert batch.sizes["case"] == 3 and list(batch.case.values) == ["a", "b", "c"]
        single = saliency(net, imgs.sel(case="b"), method=method, n_steps=8)
        np.testing.assert_allclose(batch.sel(case="b").values, single.values, rtol=1e-5, atol=1e-7)


@settings(max_examples=10, deadline=None)
@given(spacing=st.floats(0.2, 5.0), origin=st.floats(-100, 100), method=st.sampled_from(METHODS),
       channels=st.booleans())
def test_saliency_keeps_image_coords_and_attrs(spacing, origin, method, channels):
    net = _net(2, channels=1)
    img = xr.DataArray(np.random.default_rng(0).normal(size=(1, 8, 8)).astype("float32"), dims=("channel", "y", "x"),
                       coords={"y": origin + spacing * np.arange(8), "x": origin - spacing * np.arange(8),
                               "channel": ["t2"]}, attrs={"spacing": (spacing, spacing, 1.0), "origin": (origin,) * 3})
    img = img if channels else img.isel(channel=0, drop=True)
    m = saliency(net, img, method=method, n_steps=4, n_samples=2, window=(2, 2))
    assert m.dims == (img.dims if method != "gradcam" else ("y", "x"))
    xr.testing.assert_equal(m.y, img.y)
    xr.testing.assert_equal(m.x, img.x)
    assert m.attrs["spacing"] == img.attrs["spacing"] and m.attrs["saliency_method"] == method
    assert np.isfinite(m.values).all()


def test_multi_output_target_defaults_to_argmax():
    torch.manual_seed(0)
    net = ResNet(1, dim=2, widths=(4,), n_outputs=3).eval()
    img = _image(2, channels=1)
    with torch.no_grad():
        top = int(net(torch.as_tensor(img.values)[None]).argmax())
    m = saliency(net, img, method="gradient")
    assert m.attrs["target"] == top
    np.testing.assert_allclose(m.values, saliency(net, img, method="gradient", target=top).values)


def test_model_mode_restored_and_errors():
    net, img = _net(2).train(), _image(2)
    saliency(net, img, method="gradcam")
    assert net.training
    with pytest.raises(ValueError, match="'method' parameter of saliency"):
        saliency(net, img, method="lime")
    with pytest.raises(ValueError, match="'layer' parameter of saliency"):
        saliency(net, img, method="gradcam", layer="nope")
    with pytest.raises(ValueError, match="'window' and 'stride'"):
        saliency(net, img, method="occlusion", window=(20, 2))
    with pytest.raises(ValueError, match="dims"):
        saliency(net, img.rename(y="row"), method="gradient")


def test_public_names_and_importing_radlab_explain_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, radlab.explain as e; e.saliency; e.RandomizationCheck; "
            "assert 'torch' not in sys.modules and 'holoviews' not in sys.modules, 'heavy import'")
    subprocess.run([sys.executable, "-c", code], check=True)
