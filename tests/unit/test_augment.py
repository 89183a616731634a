"""Batch augmentation (coterie.data.augment): each operation against a closed-form reference built from the same
random draws, seeding, the noise statistics, and the refusals (unknown keys, augmentations that do not fit)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coterie.config import ConfigError, validate_config
from coterie.data.augment import build_augment, crop, flip, shift


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@settings(max_examples=25, deadline=None)
@given(
    b=st.integers(1, 5),
    c=st.integers(1, 3),
    h=st.integers(3, 9),
    w=st.integers(3, 9),
    p=st.integers(0, 4),
    seed=st.integers(0, 2**31 - 1),
)
def test_crop_matches_a_per_pixel_reconstruction(b, c, h, w, p, seed):
    """out[b, :, i, j] = x[b, :, i + dy − p, j + dx − p] where that is inside the image, else 0 (the padding)."""
    g = _gen(seed)
    x = torch.rand(b, c, h, w, generator=g) + 1.0  # strictly positive, so a 0 can only come from the padding
    dy, dx = torch.randint(0, 2 * p + 1, (2, b), generator=g)
    out = crop(x, p, dy, dx)
    assert out.shape == x.shape
    ref = torch.zeros_like(x)
    for k in range(b):
        for i in range(h):
            for j in range(w):
                si, sj = i + int(dy[k]) - p, j + int(dx[k]) - p
                assert abs(si - i) <= p and abs(sj - j) <= p
                if 0 <= si < h and 0 <= sj < w:
                    ref[k, :, i, j] = x[k, :, si, sj]
    assert torch.equal(out, ref)


def test_crop_of_the_builder_keeps_shape_and_moves_content_within_the_padding():
    x = torch.rand(64, 3, 8, 8) + 1.0
    aug = build_augment({"random_crop_padding": 2}, (3, 8, 8))
    g1, g2 = _gen(5), _gen(5)
    out = aug(x, g1)
    dy, dx = torch.randint(0, 5, (2, 64), generator=g2)  # the same draws, in the same order
    assert out.shape == x.shape and torch.equal(out, crop(x, 2, dy, dx))
    # every non-padding pixel of a sample is an input pixel of that sample
    for k in range(64):
        vals = out[k][out[k] != 0]
        assert torch.isin(vals, x[k]).all()
    assert (dy != 2).any()  # offsets do vary


@settings(max_examples=20, deadline=None)
@given(b=st.integers(1, 8), seed=st.integers(0, 2**31 - 1))
def test_flipping_twice_with_the_same_draws_is_the_identity(b, seed):
    x = torch.rand(b, 3, 5, 7)
    aug = build_augment({"horizontal_flip": True}, (3, 5, 7))
    once = aug(x, _gen(seed))
    assert torch.equal(aug(once, _gen(seed)), x)
    mask = torch.rand(b, generator=_gen(seed)) < 0.5
    for k in range(b):
        assert torch.equal(once[k], x[k].flip(-1) if mask[k] else x[k])


def test_flip_flips_about_half_the_samples():
    x = torch.arange(4.0).view(1, 1, 1, 4).repeat(1000, 1, 1, 1)
    out = build_augment({"horizontal_flip": True}, (1, 1, 4))(x, _gen(0))
    flipped = (out[:, 0, 0, 0] == 3).float().mean().item()
    assert 0.45 < flipped < 0.55  # Binomial(1000, 0.5): 3.2 standard deviations
    assert torch.equal(flip(x, torch.zeros(1000, dtype=torch.bool)), x)


@settings(max_examples=25, deadline=None)
@given(
    b=st.integers(1, 6),
    n=st.integers(2, 20),
    k=st.integers(0, 5),
    channels=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_shift_moves_content_by_at_most_k(b, n, k, channels, seed):
    k = min(k, n - 1)
    shape = (2, n) if channels else (n,)
    x = torch.randn(b, *shape, generator=_gen(seed))
    s = torch.randint(-k, k + 1, (b,), generator=_gen(seed + 1))
    out = shift(x, s)
    for j in range(b):
        assert abs(int(s[j])) <= k
        assert torch.equal(out[j], torch.roll(x[j], int(s[j]), dims=-1))  # circular, as mnist1d's translate


def test_shift_builder_uses_offsets_in_minus_k_to_k():
    x = torch.zeros(2000, 11)
    x[:, 5] = 1.0  # a spike in the middle
    out = build_augment({"random_shift": 3}, (11,))(x, _gen(0))
    pos = out.argmax(1) - 5
    assert set(pos.tolist()) == set(range(-3, 4))
    assert torch.equal(out.sum(1), x.sum(1))


def test_noise_has_the_requested_std_and_probability():
    x = torch.zeros(4000, 3, 4, 4)
    out = build_augment({"gaussian_noise_std": 0.045, "gaussian_noise_prob": 1.0}, (3, 4, 4))(x, _gen(0))
    # 192,000 draws: the sample std is within 1 % of 0.045 with overwhelming probability (se ≈ 0.16 %)
    assert abs(out.std().item() - 0.045) < 0.045 * 0.01 and abs(out.mean().item()) < 0.001
    half = build_augment({"gaussian_noise_std": 0.045}, (3, 4, 4))(x, _gen(0))  # DVERGE's prob 0.5
    noisy = (half.flatten(1).abs().sum(1) > 0).float().mean().item()
    assert 0.47 < noisy < 0.53


def test_same_seed_same_output_and_different_seed_differs():
    spec = {"random_crop_padding": 4, "horizontal_flip": True, "gaussian_noise_std": 0.1}
    aug = build_augment(spec, (3, 32, 32))
    x = torch.rand(16, 3, 32, 32)
    assert torch.equal(aug(x, _gen(3)), aug(x, _gen(3)))
    assert not torch.equal(aug(x, _gen(3)), aug(x, _gen(4)))
    assert aug(x.double(), _gen(3)).dtype == torch.float64


def test_nothing_to_do_gives_none():
    assert build_augment(None, (3, 32, 32)) is None
    assert build_augment({}, (40,)) is None
    assert build_augment({"horizontal_flip": False, "random_crop_padding": 0}, (40,)) is None


@pytest.mark.parametrize(
    "spec, shape, match",
    [
        ({"horizontal_flip": True}, (40,), r"needs images \(C, H, W\) but the inputs are \(40,\)"),
        ({"random_crop_padding": 4}, (2, 40), r"needs images"),
        ({"random_shift": 3}, (3, 32, 32), r"needs 1-D signals"),
        ({"random_crop_padding": 8}, (1, 8, 8), r"smaller than the image size"),
        ({"random_shift": 40}, (40,), r"smaller than the signal length"),
        ({"random_flip": True}, (3, 32, 32), r"unknown augmentation key\(s\) \['random_flip'\]; allowed: "),
        ({"random_crop_padding": -1}, (3, 32, 32), r"integer >= 0"),
        ({"horizontal_flip": 1}, (3, 32, 32), r"true or false"),
        ({"gaussian_noise_prob": 0.5}, (3, 32, 32), r"needs gaussian_noise_std"),
    ],
)
def test_bad_specs_fail_clearly(spec, shape, match):
    with pytest.raises(ValueError, match=match):
        build_augment(spec, shape)


def test_augment_batch_of_the_wrong_shape_is_refused():
    aug = build_augment({"horizontal_flip": True}, (3, 8, 8))
    with pytest.raises(ValueError, match=r"built for inputs \(3, 8, 8\)"):
        aug(torch.rand(2, 3, 4, 4), _gen(0))


def test_config_validates_augment_keys_and_fit():
    cfg = validate_config({"data": {"name": "digits", "augment": {"random_crop_padding": 1, "horizontal_flip": True}}})
    assert cfg.data.augment == {"random_crop_padding": 1, "horizontal_flip": True}
    with pytest.raises(ConfigError, match=r"unknown augmentation key.*allowed"):
        validate_config({"data": {"augment": {"crop": 4}}})
    with pytest.raises(ConfigError, match=r"horizontal_flip.*needs images.*\(40,\)"):
        validate_config({"data": {"name": "mnist1d", "augment": {"horizontal_flip": True}}})


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_batches_get_the_cpu_draws_and_stay_on_the_device():
    x = torch.rand(32, 3, 32, 32)
    aug = build_augment({"random_crop_padding": 4, "horizontal_flip": True}, (3, 32, 32))
    out = aug(x.cuda(), _gen(1))
    assert out.is_cuda and torch.equal(out.cpu(), aug(x, _gen(1)))  # the same CPU-drawn offsets and flips
    s = build_augment({"random_shift": 3}, (40,))
    z = torch.randn(16, 40)
    assert torch.equal(s(z.cuda(), _gen(2)).cpu(), s(z, _gen(2)))
    noisy = build_augment({"gaussian_noise_std": 0.1, "gaussian_noise_prob": 1.0}, (3, 32, 32))
    n = noisy(torch.zeros(512, 3, 32, 32, device="cuda"), _gen(3))
    assert n.is_cuda and abs(n.std().item() - 0.1) < 0.002
    assert torch.equal(n, noisy(torch.zeros(512, 3, 32, 32, device="cuda"), _gen(3)))  # seeded on the device too
