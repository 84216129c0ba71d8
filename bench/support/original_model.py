"""The original's detect model rebuilt in PyTorch, timed on the hourly job: the anchor of
bench/detect_bench.ts. Run it with Debian's python3 (python3-torch):

    /usr/bin/python3 original_model.py --rounds FILE [--warm FILE] [--max-epochs 20]
                                       [--warm-epochs 20] [--threads 2] [--seed 0]

FILE holds one hour of rounds as the original saw them: 60 × 65,535 bytes, one row per round,
byte p-1 is 1 when port p was occupied (raw uint8, row-major). With --warm, the job is first run
on that hour with a new model (the previous hour: the original's first job, random weights), so
the timed job on --rounds starts from a trained model, as every later hourly job did.

The model, as /work/shared/ORIGINAL.md records it: each sample is one round's 65,535-long 0/1
vector; Conv1D(32 filters, kernel 128, "same", ReLU) over the port axis -> MaxPooling1D(32) ->
Dropout(0.05) -> LSTM(32) along the pooled port axis (2,047 steps), its last output ->
Dense(16, ReLU) -> Dense(65,535, sigmoid); Adam 1e-3, MSLE loss, at most 20 epochs with early
stopping on the validation loss (patience 2), batch 10, the last 20 % of the hour held out for
validation (Keras's validation_split), training batches shuffled each epoch. Keras's
initializers (Glorot uniform kernels, orthogonal recurrent kernel, zero biases, forget-gate bias
1). The hourly job: score the 60 rounds (reconstruction error of each, the original's score),
then refit on them.

Prints one JSON object with every time in seconds.
"""

import argparse
import json
import resource
import time

IMPORT_START = time.perf_counter()
import torch  # noqa: E402  (timed: the import is part of what the original paid every hour)
from torch import nn  # noqa: E402

IMPORT_S = time.perf_counter() - IMPORT_START

PORTS = 65_535
BATCH = 10
PATIENCE = 2
VALIDATION_SPLIT = 0.2


class Original(nn.Module):
    """Conv1D -> MaxPool -> Dropout -> LSTM -> Dense(16) -> Dense(65,535)."""

    def __init__(self) -> None:
        super().__init__()
        # Keras's "same" for kernel 128: 63 zeros before, 64 after.
        self.same = nn.ConstantPad1d((63, 64), 0.0)
        self.conv = nn.Conv1d(1, 32, 128)
        self.pool = nn.MaxPool1d(32)
        self.drop = nn.Dropout(0.05)
        self.lstm = nn.LSTM(32, 32, batch_first=True)
        self.code = nn.Linear(32, 16)
        self.out = nn.Linear(16, PORTS)
        self.keras_init()

    def keras_init(self) -> None:
        for layer in (self.conv, self.code, self.out):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
        nn.init.xavier_uniform_(self.lstm.weight_ih_l0)
        for gate in self.lstm.weight_hh_l0.chunk(4, 0):
            nn.init.orthogonal_(gate)
        nn.init.zeros_(self.lstm.bias_ih_l0)
        nn.init.zeros_(self.lstm.bias_hh_l0)
        with torch.no_grad():
            self.lstm.bias_ih_l0[32:64].fill_(1.0)  # gates i, f, g, o: the forget gate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv(self.same(x.unsqueeze(1))))  # (batch, 32, 65535)
        h = self.drop(self.pool(h))  # (batch, 32, 2047)
        _, (last, _) = self.lstm(h.transpose(1, 2))  # along the 2,047 pooled port steps
        return torch.sigmoid(self.out(torch.relu(self.code(last[-1]))))


def msle(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Keras's mean squared logarithmic error, per sample."""
    return ((torch.log1p(pred) - torch.log1p(target)) ** 2).mean(dim=1)


def score(model: Original, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return torch.cat([msle(model(b), b) for b in x.split(32)])  # Keras predict: batches of 32


def fit(model: Original, optimizer: torch.optim.Optimizer, x: torch.Tensor, max_epochs: int):
    split = int(len(x) * (1 - VALIDATION_SPLIT))  # Keras holds out the last 20 %, unshuffled
    train, val = x[:split], x[split:]
    best, wait, epochs = float("inf"), 0, []
    for _ in range(max_epochs):
        start = time.perf_counter()
        model.train()
        for index in torch.randperm(split).split(BATCH):
            batch = train[index]
            optimizer.zero_grad()
            msle(model(batch), batch).mean().backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            val_loss = float(torch.cat([msle(model(b), b) for b in val.split(BATCH)]).mean())
        epochs.append({"seconds": time.perf_counter() - start, "val_loss": val_loss})
        if val_loss < best:
            best, wait = val_loss, 0
        else:
            wait += 1
            if wait >= PATIENCE:
                break
    return epochs


def hourly_job(model: Original, optimizer: torch.optim.Optimizer, path: str, max_epochs: int):
    x = torch.from_numpy(read_rounds(path)).float()
    start = time.perf_counter()
    scores = score(model, x)
    score_s = time.perf_counter() - start
    epochs = fit(model, optimizer, x, max_epochs)
    job_s = time.perf_counter() - start
    return {
        "rounds": len(x),
        "occupied_mean": float(x.sum(dim=1).mean()),
        "score_s": score_s,
        "max_score": float(scores.max()),
        "epochs": len(epochs),
        "epoch_s": [e["seconds"] for e in epochs],
        "val_loss": [e["val_loss"] for e in epochs],
        "fit_s": job_s - score_s,
        "job_s": job_s,
    }


def read_rounds(path: str):
    import numpy

    data = numpy.fromfile(path, dtype=numpy.uint8)
    if data.size % PORTS != 0:
        raise SystemExit(f"{path}: {data.size} bytes is not a whole number of 65,535-byte rounds")
    return data.reshape(-1, PORTS)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", required=True)
    parser.add_argument("--warm")
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--warm-epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    start = time.perf_counter()
    model = Original()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    build_s = time.perf_counter() - start
    jobs = {}
    if args.warm:
        jobs["warm"] = hourly_job(model, optimizer, args.warm, args.warm_epochs)
    jobs["timed"] = hourly_job(model, optimizer, args.rounds, args.max_epochs)
    start = time.perf_counter()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, "/dev/null")
    save_s = time.perf_counter() - start
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "import_s": IMPORT_S,
        "build_s": build_s,
        "parameters": sum(p.numel() for p in model.parameters()),
        "jobs": jobs,
        "save_s": save_s,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


main()
