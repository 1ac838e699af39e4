"""Runs CTGAN in its own interpreter (a separate virtual environment, see bench_oversampling.py).

    python _ctgan_runner.py IN.csv OUT.csv '{"discrete": [...], "epochs": 300, "seed": 0, "n": 100}'

Writes the generated rows to OUT.csv and prints one JSON line with the fit's CPU and wall time.
Only ctgan, pandas, numpy and torch are imported here, never gankit.
"""
import json
import sys
import time


def main() -> None:
    import numpy as np
    import pandas as pd
    import torch
    from ctgan import CTGAN

    src, dst, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    torch.set_num_threads(int(spec.get("threads", 1)))
    df = pd.read_csv(src)
    seed = int(spec.get("seed", 0))
    np.random.seed(seed)
    torch.manual_seed(seed)
    model = CTGAN(epochs=int(spec.get("epochs", 300)), verbose=False, cuda=False)
    model.set_random_state(seed)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    model.fit(df, discrete_columns=list(spec.get("discrete", [])))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    fake = model.sample(int(spec.get("n", len(df))))
    fake.to_csv(dst, index=False)
    print(json.dumps({"fit_cpu_s": cpu, "fit_wall_s": wall, "epochs": int(spec.get("epochs", 300)),
                      "ctgan": __import__("ctgan").__version__}))


if __name__ == "__main__":
    main()
