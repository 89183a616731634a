"""Physics data for seed 004: the van der Pol oscillator and Hénon–Heiles orbits, integrated with SciPy.

Each dataset is a set of trajectories sampled at even times; every sample pairs a state with its exact time
derivative (evaluated from the equations of motion at that state), which is what the networks learn to forecast:

- van der Pol (eq. 2): ẍ − μ(1 − x²)ẋ + x = 0 with μ = 2.7. State (q, q̇); derivative (q̇, q̈).
- Hénon–Heiles (eqs. 3–4): H = ½(p_x² + p_y²) + ½(x² + y²) + x²y − y³/3, flow q̇ = ∂H/∂p, ṗ = −∂H/∂q.
  State (x, y, p_x, p_y); derivative (ẋ, ẏ, ṗ_x, ṗ_y). Orbits start at a chosen energy E
  (< 1/6, the escape energy) inside the triangular bounded region; low energies give near-circular, regular
  orbits, energies near 1/6 triangular and chaotic ones.

:meth:`Trajectories.split` partitions **by whole trajectory**, so validation and test orbits are never seen, not
even at other times, during training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.integrate import solve_ivp
from torch import Tensor

from coterie.data.dataset import Splits, TensorData

VDP_MU = 2.7
HH_ESCAPE_ENERGY = 1.0 / 6.0


@dataclass
class Trajectories:
    """Sampled trajectories of a dynamical system.

    Attributes:
        states: (M, D) float32 states (positions first, then velocities / momenta).
        derivatives: (M, D) float32 exact time derivatives at those states.
        trajectory: (M,) int64 index of the trajectory each sample belongs to.
        time: (M,) float32 sample times.
        energy: (K,) float32 energy of each of the K trajectories (NaN where not conserved).
        name: dataset name.
    """

    states: Tensor
    derivatives: Tensor
    trajectory: Tensor
    time: Tensor
    energy: Tensor
    name: str = ""

    @property
    def num_trajectories(self) -> int:
        return int(self.energy.numel())

    def data(self) -> TensorData:
        """All samples as :class:`TensorData` (x = states, y = derivatives, regression)."""
        return TensorData(self.states, self.derivatives, 0, self.name)

    def orbit(self, k: int) -> Tensor:
        """States (T, D) of trajectory ``k`` in time order."""
        return self.states[self.trajectory == k]

    def split(self, val_fraction: float = 0.2, test_fraction: float = 0.2, seed: int = 0) -> Splits:
        """Disjoint train / val / test sets made of whole trajectories (at least one trajectory each if possible)."""
        k = self.num_trajectories
        g = torch.Generator().manual_seed(seed)
        perm = torch.randperm(k, generator=g)
        n_test = max(1, round(k * test_fraction)) if test_fraction > 0 else 0
        n_val = max(1, round(k * val_fraction)) if val_fraction > 0 else 0
        if n_test + n_val >= k:
            raise ValueError(f"{k} trajectories are too few for val={val_fraction}, test={test_fraction}")
        parts = perm[n_test + n_val :], perm[n_test : n_test + n_val], perm[:n_test]
        out = []
        for ids in parts:
            mask = torch.isin(self.trajectory, ids)
            out.append(TensorData(self.states[mask], self.derivatives[mask], 0, self.name))
        return Splits(*out)


def vanderpol_field(state: np.ndarray, mu: float = VDP_MU) -> np.ndarray:
    """(q̇, q̈) for states (..., 2) = (q, q̇) of the van der Pol oscillator (eq. 2)."""
    q, v = state[..., 0], state[..., 1]
    return np.stack([v, mu * (1 - q**2) * v - q], axis=-1)


def henon_heiles_potential(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """V(x, y) = ½(x² + y²) + x²y − y³/3."""
    return 0.5 * (x**2 + y**2) + x**2 * y - y**3 / 3.0


def henon_heiles_hamiltonian(state: np.ndarray | Tensor) -> np.ndarray | Tensor:
    """H (eq. 3) of states (..., 4) = (x, y, p_x, p_y); works on NumPy arrays and tensors."""
    x, y, px, py = state[..., 0], state[..., 1], state[..., 2], state[..., 3]
    return 0.5 * (px**2 + py**2) + 0.5 * (x**2 + y**2) + x**2 * y - y**3 / 3.0


def henon_heiles_field(state: np.ndarray) -> np.ndarray:
    """(ẋ, ẏ, ṗ_x, ṗ_y) = (p_x, p_y, −x − 2xy, −y − x² + y²) for states (..., 4) (eq. 4)."""
    x, y, px, py = state[..., 0], state[..., 1], state[..., 2], state[..., 3]
    return np.stack([px, py, -x - 2 * x * y, -y - x**2 + y**2], axis=-1)


def sample_henon_heiles_state(energy: float, rng: np.random.Generator) -> np.ndarray:
    """A random state (4,) of the given energy inside the bounded (triangular) region.

    Positions are drawn uniformly from {V < E} inside the triangle y > −½, y < 1 − √3|x| (the E = 1/6
    equipotential), the momentum direction uniformly, and |p| = √(2(E − V)).
    """
    if not 0 < energy < HH_ESCAPE_ENERGY:
        raise ValueError(f"energy must lie in (0, 1/6) for bounded orbits, got {energy}")
    r = np.sqrt(2 * energy) * 1.5 + 1e-9
    for _ in range(100_000):
        x, y = rng.uniform(-r, r, size=2)
        if y <= -0.5 or y >= 1 - np.sqrt(3) * abs(x):
            continue
        v = henon_heiles_potential(x, y)
        if v < energy:
            p = np.sqrt(2 * (energy - v))
            a = rng.uniform(0, 2 * np.pi)
            return np.array([x, y, p * np.cos(a), p * np.sin(a)])
    raise RuntimeError("could not sample a Hénon–Heiles state")  # pragma: no cover


def _integrate(field, x0: np.ndarray, t_end: float, dt: float) -> tuple[np.ndarray, np.ndarray]:
    t_eval = np.arange(0.0, t_end + 1e-9, dt)
    sol = solve_ivp(
        lambda _t, s: field(s), (0.0, t_eval[-1]), x0, t_eval=t_eval, method="DOP853", rtol=1e-10, atol=1e-10
    )
    if not sol.success:  # pragma: no cover
        raise RuntimeError(f"integration failed: {sol.message}")
    return t_eval, sol.y.T


def _pack(orbits: list[tuple[np.ndarray, np.ndarray]], field, energies: Sequence[float], name: str) -> Trajectories:
    states = np.concatenate([s for _, s in orbits])
    times = np.concatenate([t for t, _ in orbits])
    traj = np.concatenate([np.full(len(t), k) for k, (t, _) in enumerate(orbits)])
    return Trajectories(
        torch.tensor(states, dtype=torch.float32),
        torch.tensor(field(states), dtype=torch.float32),
        torch.tensor(traj, dtype=torch.int64),
        torch.tensor(times, dtype=torch.float32),
        torch.tensor(list(energies), dtype=torch.float32),
        name,
    )


def simulate_vanderpol(
    trajectories: int = 20,
    t_end: float = 20.0,
    dt: float = 0.1,
    mu: float = VDP_MU,
    init_range: float = 3.0,
    seed: int = 0,
) -> Trajectories:
    """van der Pol orbits from random initial states uniform in [−init_range, init_range]².

    Returns :class:`Trajectories` with states (q, q̇) and derivatives (q̇, q̈), ``trajectories × (t_end/dt + 1)``
    samples; the transients toward the limit cycle are included.
    """
    rng = np.random.default_rng(seed)
    orbits = [
        _integrate(lambda s: vanderpol_field(s, mu), rng.uniform(-init_range, init_range, 2), t_end, dt)
        for _ in range(trajectories)
    ]
    return _pack(orbits, lambda s: vanderpol_field(s, mu), [float("nan")] * trajectories, "vanderpol")


def simulate_henon_heiles(
    energies: Sequence[float] = (0.04, 0.08, 0.12, 0.16),
    trajectories_per_energy: int = 5,
    t_end: float = 50.0,
    dt: float = 0.25,
    seed: int = 0,
) -> Trajectories:
    """Hénon–Heiles orbits at several energies (``trajectories_per_energy`` random orbits at each).

    Returns :class:`Trajectories` with states (x, y, p_x, p_y), derivatives from eq. 4, and each orbit's energy.
    """
    rng = np.random.default_rng(seed)
    orbits, es = [], []
    for e in energies:
        for _ in range(trajectories_per_energy):
            orbits.append(_integrate(henon_heiles_field, sample_henon_heiles_state(e, rng), t_end, dt))
            es.append(e)
    return _pack(orbits, henon_heiles_field, es, "henon-heiles")
