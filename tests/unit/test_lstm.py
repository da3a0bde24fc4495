"""The LSTM module: shapes, window stitching, and the state_dict + metadata round trip."""

import numpy as np
import pytest
import torch

from functions.common.label_config import ClassifierParams
from functions.common.lstm import build_model, load_model, predict_probs, state_to_bytes, window_starts

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("n", "size", "stride"), [(1, 16, 8), (16, 16, 8), (17, 16, 8), (100, 16, 8), (50, 7, 3)])
def test_windows_cover_every_frame(n, size, stride):
    starts = window_starts(n, size, stride)
    covered = np.zeros(n, bool)
    for s in starts:
        covered[s : s + size] = True
    assert covered.all() and starts[-1] + min(size, n) == n


def test_honours_hidden_size_and_layers():
    model = build_model(10, 3, ClassifierParams(hidden_size=5, num_layers=2))
    assert model.lstm.hidden_size == 5 and model.lstm.num_layers == 2
    out = model(torch.zeros(4, 16, 10))
    assert out.shape == (4, 16, 3)


def test_predict_probs_gives_every_frame_a_probability():
    torch.manual_seed(0)
    model = build_model(6, 2, ClassifierParams(hidden_size=4))
    probs = predict_probs(model, np.random.default_rng(0).normal(size=(37, 6)).astype(np.float16), 16)
    assert probs.shape == (37, 2) and ((probs > 0) & (probs < 1)).all()


def test_state_dict_round_trip_is_exact():
    # GIVEN a model with random weights
    torch.manual_seed(1)
    params = ClassifierParams(hidden_size=8, num_layers=2)
    model = build_model(12, 3, params)
    x = np.random.default_rng(1).normal(size=(40, 12)).astype(np.float32)
    # WHEN its state_dict is saved and loaded into a model rebuilt from metadata
    clone = load_model(state_to_bytes(model), 12, 3, params)
    # THEN predictions are identical
    assert np.array_equal(predict_probs(model, x, 16), predict_probs(clone, x, 16))


def test_loading_refuses_pickled_code():
    # GIVEN a checkpoint that pickles a whole module (what the reference backend saved)
    import io

    buf = io.BytesIO()
    torch.save(build_model(4, 1, ClassifierParams()), buf)
    # THEN weights_only loading refuses it
    with pytest.raises(Exception, match="(?i)weights_only|unsupported|global"):
        load_model(buf.getvalue(), 4, 1, ClassifierParams())


def test_overfits_one_batch():
    # GIVEN a separable sequence: label on where feature 0 is high
    torch.manual_seed(0)
    x = torch.randn(8, 16, 6)
    y = (x[..., :1] > 0).float()
    model = build_model(6, 1, ClassifierParams(hidden_size=16))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(150):
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        opt.step()
    # THEN it fits
    acc = ((model(x) > 0).float() == y).float().mean().item()
    assert acc > 0.95
