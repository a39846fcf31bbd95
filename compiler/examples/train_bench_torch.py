"""PyTorch autograd peer of train_bench.rs: the same networks (weights from the golden NIR
files are not needed for speed; shapes and T match), float64, one thread, batch 64,
forward + BPTT (atan surrogate, detached reset) + Adam. Prints samples/s per network."""
import sys, time
import numpy as np
import torch

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)
root, batches = sys.argv[1], int(sys.argv[2])


class Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u):
        ctx.save_for_backward(u)
        return (u > 0).to(u.dtype)

    @staticmethod
    def backward(ctx, g):
        (u,) = ctx.saved_tensors
        return g / (1 + (np.pi * u) ** 2)


def lif(v, i, beta=0.9, thr=1.0):
    v = beta * v + i
    s = Spike.apply(v - thr)
    return v - s.detach() * v, s


class Mlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = torch.nn.Linear(64, 128), torch.nn.Linear(128, 10)

    def forward(self, x):  # x [B, T, 64]
        v1 = v2 = 0.0
        count = 0.0
        for t in range(x.shape[1]):
            v1, s1 = lif(v1, self.fc1(x[:, t]))
            v2, s2 = lif(v2, self.fc2(s1))
            count = count + s2
        return count


class Cnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, 8, 3, padding=1)
        self.c2 = torch.nn.Conv2d(8, 16, 3, padding=1)
        self.fc = torch.nn.Linear(256, 10)

    def forward(self, x):  # x [B, T, 1, 8, 8]
        v1 = v2 = v3 = 0.0
        count = 0.0
        for t in range(x.shape[1]):
            v1, s1 = lif(v1, self.c1(x[:, t]))
            v2, s2 = lif(v2, self.c2(torch.nn.functional.avg_pool2d(s1, 2)))
            v3, s3 = lif(v3, self.fc(s2.flatten(1)))
            count = count + s3
        return count


for name, model, prefix in [("digits_mlp", Mlp(), "mlp_t20"), ("digits_cnn", Cnn(), "cnn_t16")]:
    x = torch.from_numpy(np.load(f"{root}/digits_train/{prefix}_input.npy").astype(np.float64))
    y = torch.from_numpy(np.load(f"{root}/digits_train/{prefix}_labels.npy"))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for b in range(batches):
            idx = torch.arange(b * 64, b * 64 + 64) % len(y)
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        best = min(best, time.perf_counter() - start)
    print(f"pytorch     {name}  {batches * 64 / best:8.0f} samples/s  (torch {torch.__version__}, autograd)")
