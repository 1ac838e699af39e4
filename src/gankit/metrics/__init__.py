"""Metrics for generated samples: each takes numpy arrays or torch tensors of samples or features.

fid, kid, inception_score (fid.py); prdc (prdc.py); c2st (c2st.py); diversity (diversity.py);
class_distribution, per_class_accuracy (classes.py); mode_metrics, material_coverage (modes.py);
mode_fit (mode_fit.py: spread and offset inside each mode of a toy mixture); column_fidelity
(columns.py: per-column distances of tables in data units); perceptual_path_length,
ppl_of_module, slerp (ppl.py: the only one that reads no real data); stacked_mnist_modes,
triple_statistics, digit_judge (stacked_mnist.py: modes and KL of Stacked MNIST samples read
channel by channel); the list of metrics `gankit eval` knows (registry.py) and `record`, which
writes each value with its protocol to metrics.json (recording.py).
"""
from .c2st import c2st
from .classes import class_distribution, per_class_accuracy
from .columns import column_fidelity
from .diversity import diversity
from .fid import feature_statistics, fid, frechet_distance, inception_score, kid
from .mode_fit import mode_fit
from .modes import material_coverage, mode_metrics
from .ppl import perceptual_path_length, ppl_of_module, slerp
from .prdc import prdc
from .stacked_mnist import digit_judge, stacked_mnist_modes, triple_statistics

__all__ = [
    "fid", "kid", "inception_score", "prdc", "c2st", "diversity", "mode_metrics", "material_coverage",
    "mode_fit", "column_fidelity", "class_distribution", "per_class_accuracy", "frechet_distance",
    "feature_statistics", "perceptual_path_length", "ppl_of_module", "slerp", "stacked_mnist_modes",
    "triple_statistics", "digit_judge",
]
