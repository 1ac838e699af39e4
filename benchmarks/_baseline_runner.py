"""Runs the reference material's own loops (../shared/baselines) in their own interpreter, one
thread, and keeps what a benchmark needs to score them with gankit's metric code: the samples
of the mixture models, the generator's weights along the image loop, and the CPU seconds of
training. gankit is never imported here.

    python _baseline_runner.py mog SEED_MOG.py MODES EPOCHS OUT.npz [MODEL ...]
    python _baseline_runner.py cwgan SEED_CWGAN_GP.py MNIST_DIR STEPS EVERY OUT_DIR

The seed's module is loaded with runpy (its `__main__` block does not run) and its own
functions and classes are used; the driver below repeats the `__main__` block of each script
statement by statement (same seeds, same data loader, same order of random draws), adding only
the timing (time.process_time around training, the seed prints wall seconds) and the saving.
"""
import json
import runpy
import sys
import time


def mog(script: str, k: int, epochs: int, out: str, models: list[str]) -> None:
    import numpy as np
    import torch
    from sklearn.datasets import make_blobs

    torch.set_num_threads(1)
    ns = runpy.run_path(script, run_name="seed_mog")       # torch.manual_seed(42); np.random.seed(42)
    ld = 2
    ds = ns["DS"](10000, k)
    dl = torch.utils.data.DataLoader(ds, batch_size=128, shuffle=True)
    real = ds.d.numpy()
    # the seed scales its blobs by 0.9 / max|X| per axis: the factors, to undo it for scoring
    centers = np.array([[0, 0], [5, 5], [5, -5], [-5, 5], [-5, -5], [0, 5], [5, 0], [-5, 0], [0, -5]])[:k]
    raw, _ = make_blobs(n_samples=10000, centers=centers, cluster_std=0.5, random_state=42)
    scale = 0.9 / np.abs(raw).max(axis=0)
    saved = {"scale": scale, "centers": centers.astype(float), "real": real}
    info = {}
    for name in models:
        torch.manual_seed(0)
        t, c = time.time(), time.process_time()
        if name == "vanilla":
            G = ns["mlp"](ld, 2, tanh=True); D = ns["mlp"](2, 1); ns["train_vanilla"](G, D, dl, epochs, ld)
        elif name == "wgan-gp":
            G = ns["mlp"](ld, 2, tanh=True); D = ns["mlp"](2, 1); ns["train_wgan"](G, D, dl, epochs, ld)
        else:
            G = ns["CG"](ld, k); D = ns["CD"](k); ns["train_wgan"](G, D, dl, epochs, ld, cond=True)
        wall, cpu = time.time() - t, time.process_time() - c
        with torch.no_grad():
            z = torch.randn(10000, ld)
            s = (G(z, torch.arange(10000) % k) if name.startswith("cond") else G(z)).numpy()
        coverage = ns["coverage"](real, s, k)
        saved[f"samples_{name}"] = s
        info[name] = {"cpu_s": cpu, "wall_s": wall, "coverage": coverage, "epochs": epochs,
                      "d_steps": epochs * len(dl)}
        print(f"{name}: coverage={coverage:.2f} train_s={wall:.1f} cpu_s={cpu:.1f} epochs={epochs}",
              flush=True)
    np.savez(out, **saved)
    print(json.dumps(info))


def cwgan(script: str, mnist: str, steps: int, every: int, out: str) -> None:
    import os

    import torch

    torch.set_num_threads(1)
    ns = runpy.run_path(script, run_name="seed_cwgan_gp")
    config = ns["config"]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    x, y = ns["load_mnist"](mnist)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y),
                                         batch_size=config["batch_size"], shuffle=True)
    G, D = ns["Generator"](config), ns["Discriminator"](config)
    oG = torch.optim.Adam(G.parameters(), lr=config["lr"], betas=(0.5, 0.9))
    oD = torch.optim.Adam(D.parameters(), lr=config["lr"], betas=(0.5, 0.9))
    it = iter(loader)
    step, cpu, wall, marks = 0, 0.0, 0.0, []
    c0, w0 = time.process_time(), time.time()
    while step < steps:
        try:
            real, labels = next(it)
        except StopIteration:
            it = iter(loader); real, labels = next(it)
        for _ in range(config["n_critic"]):        # as in the tutorial: the same real batch, fresh z
            z = torch.normal(0, 1, size=(real.shape[0], config["z_dim"], 1, 1))
            valid = torch.mean(D(real, labels))
            gen = G(z, labels)
            fake = torch.mean(D(gen.detach(), labels))
            gp = ns["compute_gradient_penalty"](D, real.data, gen.data, labels)
            loss_d = -(valid - fake) + config["lambda_gp"] * gp
            oD.zero_grad(); loss_d.backward(); oD.step()
        loss_g = -torch.mean(D(gen, labels))
        oG.zero_grad(); loss_g.backward(); oG.step()
        step += 1
        if step % every == 0 or step == steps:
            cpu += time.process_time() - c0
            wall += time.time() - w0
            torch.save(G.state_dict(), f"{out}/g_{step}.pt")     # not timed
            marks.append({"step": step, "cpu_s": cpu, "wall_s": wall,
                          "loss_d": float(loss_d), "loss_g": float(loss_g)})
            print(json.dumps(marks[-1]), flush=True)
            c0, w0 = time.process_time(), time.time()
    with open(f"{out}/marks.json", "w") as fh:
        json.dump(marks, fh)


if __name__ == "__main__":
    if sys.argv[1] == "mog":
        mog(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5],
            sys.argv[6:] or ["vanilla", "wgan-gp", "cond-wgan-gp"])
    elif sys.argv[1] == "cwgan":
        cwgan(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    else:
        raise SystemExit(f"unknown loop {sys.argv[1]!r}")
