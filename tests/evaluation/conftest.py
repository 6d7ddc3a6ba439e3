import numpy as np
import pytest


@pytest.fixture
def binary_data():
    rng = np.random.default_rng(42)
    n = 300
    y = rng.integers(0, 2, n)
    a = y * 1.0 + rng.normal(size=n)
    b = y * 0.6 + 0.5 * a + rng.normal(size=n)
    return y, a, b


@pytest.fixture
def survival_data():
    rng = np.random.default_rng(7)
    n = 400
    x = rng.normal(size=n)
    t_event = rng.exponential(scale=np.exp(-0.7 * x) * 5)
    t_cens = rng.uniform(0, 10, n)
    durations = np.round(np.minimum(t_event, t_cens), 2)
    events = (t_event <= t_cens).astype(int)
    groups = rng.integers(0, 3, n)
    return durations, events, x, groups
