"""Each class or cluster of points at its own scale: cluster conditioning (`--clusters K`), an
unconditional model of points trained as a conditional one on clusters of its own training
data, and class scaling (`--class-scaling`), a conditional one whose classes are each
standardised by their own mean and std.

K-means splits the (standardised) training points into K clusters; each point becomes its
cluster's label and its offset from the cluster's mean in units of the cluster's own standard
deviation (per axis). The conditional networks learn each cluster's shape at unit scale, and
sampling draws a cluster by its share of the training data, then maps the generator's output
back. Conditioning on clusters of the data is the self-conditioned GAN's remedy for mode
collapse (Liu et al. 2020, "Diverse image generation via self-conditioned GANs"); normalising a
value by its own mode's mean and spread is CTGAN's mode-specific normalisation (Xu et al. 2019).
On mixtures whose modes are narrow against the space between them (ring8: std 0.01 on a circle
of radius 1), it is what lets the generator place samples inside the modes: a shared scale asks
it for a precision of 1% of its output range (docs/mode_collapse_recipe.md).

With labels, the same scaling per class (`ClassScaling`) spares a conditional generator the
same precision: each class is learnt at unit scale, sampled by class as before.
`ClassScaling` and `ClusterCode` are kept with the model (their buffers are in every
checkpoint), as the data scaling is.
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import GankitError

# fewer training points per cluster than this, and a cluster's mean and spread are guesses
MIN_POINTS_PER_CLUSTER = 5
# a cluster of identical points has no spread; this keeps its scale finite (standardised units)
SCALE_FLOOR = 1e-4
# k-means stops within a tolerance; more Lloyd steps make the assignment exact (a uniform
# square in 20 clusters needs under 100; each costs one distance matrix)
LLOYD_STEPS = 100


def check_clusters(clusters, n_points: int | None = None) -> None:
    """Refuse a cluster count that cannot be trained, with the fix."""
    if isinstance(clusters, bool) or int(clusters) != clusters or clusters < 0 or clusters == 1:
        raise GankitError(f"--clusters is the number of k-means clusters to condition on, a whole "
                          f"number >= 2 (0 turns it off; more clusters than the data has modes, "
                          f"e.g. 100 for 10,000 points), got {clusters}")
    if n_points is not None and clusters and n_points < MIN_POINTS_PER_CLUSTER * clusters:
        raise GankitError(f"--clusters {clusters} needs at least {MIN_POINTS_PER_CLUSTER * clusters} "
                          f"training points ({MIN_POINTS_PER_CLUSTER} per cluster); the data has "
                          f"{n_points}: lower --clusters to {max(2, n_points // MIN_POINTS_PER_CLUSTER)} "
                          "or fewer")


class ClassScaling(nn.Module):
    """Each of K classes at its own scale: their means and per-axis scales (K, F)
    (`--class-scaling`: the labels are the data's classes)."""

    def __init__(self, classes: int, num_features: int):
        super().__init__()
        self.register_buffer("centres", torch.zeros(classes, num_features))
        self.register_buffer("scales", torch.ones(classes, num_features))

    @torch.no_grad()
    def fit_classes(self, x: torch.Tensor, labels: torch.Tensor) -> "ClassScaling":
        """Each class's mean and per-axis std, from points x (N, F) with labels (N,)."""
        labels = labels.to(x.device).long()
        for k in range(len(self.centres)):
            members = x[labels == k]
            if len(members):
                self.centres[k] = members.mean(dim=0)
            self.scales[k] = (members.std(dim=0).clamp_min(SCALE_FLOOR) if len(members) > 1
                              else SCALE_FLOOR)
        return self

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Offsets of points x from their classes' means, in units of their classes' scales."""
        return (x - self.centres[labels]) / self.scales[labels]

    def inverse(self, offsets: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return offsets * self.scales[labels] + self.centres[labels]


class ClusterCode(ClassScaling):
    """K k-means clusters of points, each at its own scale; a point's label is its nearest centre,
    and samples draw clusters by their shares (K,) of the training data."""

    def __init__(self, clusters: int, num_features: int):
        check_clusters(clusters)
        super().__init__(clusters, num_features)
        self.register_buffer("shares", torch.full((clusters,), 1.0 / clusters))

    @property
    def clusters(self) -> int:
        return self.centres.shape[0]

    @torch.no_grad()
    def fit(self, x: torch.Tensor, seed: int = 0) -> "ClusterCode":
        """K-means (k-means++ start, seeded) on x (N, F); each cluster's mean, scale and share."""
        from sklearn.cluster import KMeans

        check_clusters(self.clusters, len(x))
        points = x.detach().cpu().double().numpy()
        kmeans = KMeans(self.clusters, n_init=1, random_state=int(seed) % 2**32).fit(points)
        self.centres.copy_(torch.as_tensor(kmeans.cluster_centers_, dtype=self.centres.dtype))
        labels = self.assign(x)
        # Lloyd steps until the member means assign every point to the cluster whose mean and
        # scale were computed from it: `encode` labels the data by these means
        for _ in range(LLOYD_STEPS):
            self.fit_classes(x, labels)
            fitted, labels = labels, self.assign(x)
            if torch.equal(labels, fitted):
                break
        counts = torch.bincount(fitted, minlength=self.clusters)
        self.shares.copy_(counts.to(self.shares.dtype) / counts.sum())
        return self

    def assign(self, x: torch.Tensor) -> torch.Tensor:
        """Each point's cluster: its nearest centre."""
        return torch.cdist(x.to(self.centres.dtype), self.centres).argmin(dim=1)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(offsets in cluster units, cluster labels) of points x."""
        labels = self.assign(x)
        return self(x, labels), labels

    def draw(self, n: int, rng: torch.Generator | None = None) -> torch.Tensor:
        """n cluster labels, each cluster as often as its share of the training data, drawn on
        rng's device (a CPU stream may draw for a model on a GPU)."""
        shares = self.shares if rng is None else self.shares.to(rng.device)
        return torch.multinomial(shares, n, replacement=True, generator=rng)
