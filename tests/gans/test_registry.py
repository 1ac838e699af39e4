"""The registry is the one place that knows the variants by name."""
import re
from pathlib import Path

import pytest

from gankit.gans import VARIANTS, experiment_rows, variant_class
from gankit.errors import GankitError

from support import tiny

SRC = Path(__file__).resolve().parents[2] / "src" / "gankit"


def test_every_variant_is_complete():
    for name, variant in VARIANTS.items():
        assert variant.name == name and variant.label
        config = tiny(model=name, data="digits" if name == "dcgan" else "ring8")
        resolved = config.resolve("images" if name == "dcgan" else "points")
        assert resolved.variant().name in (name, "mad-gan")
        variant.from_config(resolved)          # its own settings are filled and valid


def test_unknown_model_lists_the_registered_ones():
    with pytest.raises(GankitError, match="unknown model 'vae'; choose one of gan, dcgan, wgan-gp"):
        variant_class(tiny(model="vae"))


def test_experiment_rows_come_from_the_variants():
    rows = experiment_rows()
    assert {"gan", "wgan-gp", "cwgan-gp", "unrolled-gan", "mad-gan", "ebgan", "ebgan-pt",
            "began"} <= set(rows)
    variant, row = rows["cwgan-gp"]
    assert variant.name == "wgan-gp" and row.settings == {"conditional": True}


def test_no_model_name_is_compared_outside_the_variants():
    names = "|".join(re.escape(n) for n in list(VARIANTS) + ["mad-gan"])
    compare = re.compile(rf"""(==|!=|\bin\b)\s*[\(\[{{]?[^#\n]*?["']({names})["']""")
    offenders = []
    for path in SRC.rglob("*.py"):
        if "gans" in path.relative_to(SRC).parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            if compare.search(code) and ("model" in code or "kind" in code):
                offenders.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    assert offenders == []
