"""
PyTorch (CPU) reference of Curio's two trainings and its evaluation scoring, for `npm run bench:peer`.

The same steps as the tfjs code, on the very inputs bench/peer/tfjs.ts wrote to --data (raw
little-endian arrays named in manifest.json: the item features, skip-gram pairs, sequences, the batch
order and the sampled negatives of every step, and the tfjs models' initial weights):
  item_tower   models/itemUnit.ts: tag bag (weighted mean of 32-d tag embeddings) + seller 16-d +
               price 8-d + category 8-d embeddings + the 10 listing-time codes → dense 128 relu →
               dense 64 → L2 norm; run once per distinct item of a 4,096-pair batch; BCE on
               5 × cosine + the prior log-odds; Adam 3e-3 (eps 1e-7 as tfjs).
  user_joint   models/multiInterest.ts, the default configuration: the batch's distinct items through
               the item tower (trained jointly), dynamic routing (shared 64×64 map, K = 4, 3 iterations,
               fixed routing logits, stop-gradient on the intermediate iterations) over 50 long-term
               clicks, per-interest attention over 10 session clicks with the sigmoid gate, L2 norm;
               hard selection gate; sampled softmax over 1,024 shared popularity^0.75 negatives with
               log-Q correction and accidental hits masked, logit scale 10, + 0.1 × mean pairwise
               cosine of the interests; Adam 5e-3 over the user model and the tower; batch 256.
  user_frozen  the same user model on the frozen item-vector table.
  eval         the interests of many users (batches of 1,024, as computeInterests), then the exact
               inner-product top-50 of every interest over the whole catalogue.
Before timing, each training runs its first two steps from the tfjs initial weights on the same
batches, and the losses are compared with those tfjs reported (--check); the evaluation compares
interests and top-50 lists. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


PROFILE = False


class Data:
    def __init__(self, folder: Path):
        self.folder = folder
        self.manifest = json.loads((folder / "manifest.json").read_text())

    def np(self, name: str) -> np.ndarray:
        a = self.manifest["arrays"][name]
        return np.fromfile(self.folder / a["file"], dtype=np.dtype(a["dtype"]).newbyteorder("<")).reshape(a["shape"])

    def t(self, name: str) -> torch.Tensor:
        x = torch.from_numpy(self.np(name).copy())
        return x.long() if x.dtype == torch.int32 else x


# ---- item tower (models/itemUnit.ts, models/layers.ts) ----------------------------------------------


def l2_normalize(x: torch.Tensor) -> torch.Tensor:
    # layers.ts L2Normalize: x · rsqrt(max(Σx², 1e-12)).
    return x * torch.rsqrt(torch.clamp((x * x).sum(-1, keepdim=True), min=1e-12))


class ItemTower(nn.Module):
    def __init__(self, cfg: dict, vocab: dict, time_codes: int):
        super().__init__()
        self.tag = nn.Embedding(vocab["tags"], cfg["tagEmbeddingDim"])
        self.seller = nn.Embedding(vocab["sellers"], cfg["sellerEmbeddingDim"])
        self.price = nn.Embedding(vocab["prices"], cfg["priceEmbeddingDim"])
        self.category = nn.Embedding(vocab["categories"], cfg["categoryEmbeddingDim"])
        width = cfg["tagEmbeddingDim"] + cfg["sellerEmbeddingDim"] + cfg["priceEmbeddingDim"] + cfg["categoryEmbeddingDim"] + time_codes
        self.hidden = nn.Linear(width, cfg["hiddenUnits"])
        self.projection = nn.Linear(cfg["hiddenUnits"], cfg["dim"])
        for e in (self.tag, self.seller, self.price, self.category):
            nn.init.normal_(e.weight, 0, 0.05)

    def forward(self, tag_ids, tag_w, seller, price, category, time_code):
        # WeightedBag: Σ w e / max(Σ w, 1e-6); the weights arrive rescaled to sum to 1 (itemInputs).
        w = tag_w.unsqueeze(-1)
        bag = (self.tag(tag_ids) * w).sum(1) / torch.clamp(w.sum(1), min=1e-6)
        x = torch.cat([bag, self.seller(seller), self.price(price), self.category(category), time_code], 1)
        return l2_normalize(self.projection(torch.relu(self.hidden(x))))

    def load_tfjs(self, d: Data, prefix: str) -> None:
        with torch.no_grad():
            for name, emb in (("tag", self.tag), ("seller", self.seller), ("price", self.price), ("category", self.category)):
                emb.weight.copy_(d.t(f"{prefix}.{name}_embedding/embeddings"))
            for name, lin in (("hidden", self.hidden), ("projection", self.projection)):
                lin.weight.copy_(d.t(f"{prefix}.{name}/kernel").T)  # tfjs kernels are (in, out)
                lin.bias.copy_(d.t(f"{prefix}.{name}/bias"))


class ItemFeatures:
    """Per-item tower inputs, prepared once (tfjs rebuilds them per batch in itemInputs)."""

    def __init__(self, d: Data, periods: list[float]):
        self.tag_ids = d.t("tag_ids")
        w = d.np("tag_weights").astype(np.float32)
        s = w.sum(1, keepdims=True)
        self.tag_w = torch.from_numpy(np.where(s > 0, w / np.where(s > 0, s, 1), 0).astype(np.float32))
        self.seller, self.price, self.category = d.t("seller"), d.t("price"), d.t("category")
        day = d.np("listed_day").astype(np.float64)[:, None]
        codes = np.empty((day.shape[0], 2 * len(periods)), dtype=np.float32)
        for k, p in enumerate(periods):
            codes[:, 2 * k] = np.sin(2 * np.pi * day[:, 0] / p)
            codes[:, 2 * k + 1] = np.cos(2 * np.pi * day[:, 0] / p)
        self.time = torch.from_numpy(codes)
        self.n = self.tag_ids.shape[0]

    def of(self, items: torch.Tensor):
        return self.tag_ids[items], self.tag_w[items], self.seller[items], self.price[items], self.category[items], self.time[items]


def adam(params, lr: float) -> torch.optim.Optimizer:
    # tfjs's Adam: the same update, epsilon 1e-7 (tf.backend().epsilon()) where torch defaults to 1e-8.
    return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-7)


def prior_log_odds(label: torch.Tensor) -> float:
    pos = float(label.sum())
    neg = label.numel() - pos
    return math.log(pos / neg) if pos > 0 and neg > 0 else 0.0


def item_loss(tower: ItemTower, feats: ItemFeatures, center, context, label, scale: float, offset: float) -> torch.Tensor:
    b = center.shape[0]
    uniq, inv = torch.unique(torch.cat([center, context]), return_inverse=True)  # the tower runs once per distinct item
    v = tower(*feats.of(uniq))
    logits = (v[inv[:b]] * v[inv[b:]]).sum(1) * scale + offset
    return F.binary_cross_entropy_with_logits(logits, label)


# ---- user model (models/multiInterest.ts, models/layers.ts) -----------------------------------------


class MultiInterest(nn.Module):
    """DynamicRouting (shared map) → InterestSessionAttention → L2Normalize."""

    def __init__(self, cfg: dict, dim: int):
        super().__init__()
        k, length = cfg["interests"], cfg["maxLong"]
        self.iterations = cfg["routingIterations"]
        self.temperature = cfg["logitScale"]
        self.bilinear = nn.Parameter(torch.empty(dim, dim))
        nn.init.xavier_uniform_(self.bilinear)
        self.register_buffer("routing_init", torch.randn(k, length))  # fixed, not trained
        self.gate_kernel = nn.Parameter(torch.empty(3 * dim, dim))
        nn.init.xavier_uniform_(self.gate_kernel)
        self.gate_bias = nn.Parameter(torch.zeros(dim))

    def load_tfjs(self, d: Data, prefix: str) -> None:
        with torch.no_grad():
            self.bilinear.copy_(d.t(f"{prefix}.long_term_interests/bilinear"))
            self.routing_init.copy_(d.t(f"{prefix}.long_term_interests/routing_init"))
            self.gate_kernel.copy_(d.t(f"{prefix}.fusion_gate/gate_kernel"))
            self.gate_bias.copy_(d.t(f"{prefix}.fusion_gate/gate_bias"))

    def routing(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, length, d = h.shape
        u_hat = (h.reshape(b * length, d) @ self.bilinear).reshape(b, length, d)
        logits = self.routing_init.unsqueeze(0).expand(b, -1, -1)  # (B, K, L)
        v = None
        for it in range(self.iterations):
            w = torch.softmax(logits.transpose(1, 2), -1) * mask.unsqueeze(-1)  # (B, L, K): over capsules per item
            last = it == self.iterations - 1
            u = u_hat if last else u_hat.detach()
            z = w.transpose(1, 2) @ u  # (B, K, d)
            sq = (z * z).sum(-1, keepdim=True)
            v = sq / (sq + 1) * (z / torch.sqrt(sq + 1e-9))
            if not last:
                logits = logits + v @ u.transpose(1, 2)
        return v

    def session_attention(self, l, s, mask):
        b, k, d = l.shape
        m = mask.unsqueeze(1)  # (B, 1, S)
        sims = (l @ s.transpose(1, 2)) * self.temperature
        att = torch.softmax(sims + (1 - m) * -1e9, -1) * m
        c = att @ s
        feats = torch.cat([l, c, l * c], -1).reshape(b * k, 3 * d)
        gate = torch.sigmoid(feats @ self.gate_kernel + self.gate_bias).reshape(b, k, d)
        has = torch.clamp(mask.sum(1), max=1).reshape(b, 1, 1)
        return l + has * ((1 - gate) * (c - l))

    def forward(self, long_v, long_m, short_v, short_m):
        return l2_normalize(self.session_attention(self.routing(long_v, long_m), short_v, short_m))


def select_interest(interests: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    # Hard selection gate: the interest most similar to the target; no gradient through the choice.
    sims = (interests @ target.unsqueeze(2)).squeeze(2)
    weights = F.one_hot(sims.argmax(1), interests.shape[1]).to(interests.dtype)
    return (interests * weights.unsqueeze(2)).sum(1)


def sampled_softmax(user, target, negatives, accidental, target_logq, negative_logq, scale: float) -> torch.Tensor:
    pos = (user * target).sum(1, keepdim=True) * scale - target_logq
    neg = (user @ negatives.T) * scale - negative_logq
    logits = torch.cat([pos, neg - accidental * 1e9], 1)
    return -torch.log_softmax(logits, 1)[:, 0].mean()


def metric_loss(interests: torch.Tensor) -> torch.Tensor:
    k = interests.shape[1]
    gram = interests @ interests.transpose(1, 2)
    off = gram.sum((1, 2)) - torch.diagonal(gram, dim1=1, dim2=2).sum(1)
    return (off / (k * (k - 1))).mean()


class UserTrainer:
    def __init__(self, d: Data, feats: ItemFeatures, joint: bool, check: bool, item_cfg: dict):
        cfg = d.manifest["multiInterest"]
        self.cfg, self.dim, self.feats, self.joint = cfg, d.manifest["dim"], feats, joint
        self.long, self.short, self.target = d.t("mi_long"), d.t("mi_short"), d.t("mi_target")
        self.n = feats.n
        self.model = MultiInterest(cfg, self.dim)
        params = list(self.model.parameters())
        if joint:
            self.tower = ItemTower(item_cfg, d.manifest["vocab"], 2 * len(item_cfg["timePeriods"]))
            params += list(self.tower.parameters())
        if check:
            self.model.load_tfjs(d, "multi_interest")
            if joint:
                self.tower.load_tfjs(d, "tower")
        self.opt = adam(params, cfg["learningRate"])
        vecs = d.t("item_vectors")
        self.table = torch.cat([vecs, torch.zeros(1, self.dim)])  # the frozen table, padding row n
        # log Q: m draws per batch from popularity^0.75 (trainUserModel's sharedLogQ).
        pop = d.np("popularity").astype(np.float64)
        w = np.where(pop > 0, pop ** 0.75, 0)
        z = w.sum()
        floor = w[pop > 0].min() / z
        m = cfg["sampledNegatives"]
        self.log_q = torch.from_numpy(np.log(m * np.where(pop > 0, w / z, floor)).astype(np.float32))

    def loss(self, rows: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        cfg, d = self.cfg, self.dim
        long, short, tgt = self.long[rows], self.short[rows], self.target[rows]
        b, ml, ms = rows.shape[0], cfg["maxLong"], cfg["maxShort"]
        long_m, short_m = (long >= 0).float(), (short >= 0).float()
        if self.joint:
            ids = torch.cat([long.reshape(-1), short.reshape(-1), tgt, neg])
            ids = torch.where(ids < 0, self.n, ids)
            uniq, inv = torch.unique(ids, return_inverse=True)  # padding (n) sorts last
            real = uniq[uniq < self.n]
            table = torch.cat([self.tower(*self.feats.of(real)), torch.zeros(1, d)])
            la, sa = b * ml, b * ms
            long_v = table[inv[:la]].reshape(b, ml, d)
            short_v = table[inv[la:la + sa]].reshape(b, ms, d)
            target_v = table[inv[la + sa:la + sa + b]]
            neg_v = table[inv[la + sa + b:]]
        else:
            t = self.table
            long_v = t[torch.where(long < 0, self.n, long)]
            short_v = t[torch.where(short < 0, self.n, short)]
            target_v, neg_v = t[tgt], t[neg]
        interests = self.model(long_v, long_m, short_v, short_m)
        user = select_interest(interests, target_v)
        accidental = (neg.unsqueeze(0) == tgt.unsqueeze(1)).float()
        tlogq = self.log_q[tgt].unsqueeze(1) if cfg["logQCorrection"] else 0
        nlogq = self.log_q[neg].unsqueeze(0) if cfg["logQCorrection"] else 0
        ce = sampled_softmax(user, target_v, neg_v, accidental, tlogq, nlogq, cfg["logitScale"])
        if cfg["lambda"] == 0:
            return ce
        return ce + cfg["lambda"] * metric_loss(interests)


def profile_step(run) -> dict:
    """torch.profiler over one steady-state step: aten calls (nested ones included) and the top self times."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        run()
    ev = [e for e in prof.key_averages() if e.key.startswith("aten::")]
    top = sorted(ev, key=lambda e: e.self_cpu_time_total, reverse=True)[:8]
    return {
        "atenCalls": int(sum(e.count for e in ev)),
        "selfMs": sum(e.self_cpu_time_total for e in ev) / 1000,
        "top": [{"name": e.key, "calls": int(e.count), "ms": e.self_cpu_time_total / 1000} for e in top],
    }


def step(opt: torch.optim.Optimizer, loss_fn) -> float:
    opt.zero_grad(set_to_none=True)
    loss = loss_fn()
    loss.backward()
    opt.step()
    return loss.item()  # the tfjs loop reads every step's loss back too


# ---- the stages -----------------------------------------------------------------------------------


def timed_steps(run, steps: int, batch: int, out: dict) -> dict:
    """Two warm-up steps (as the tfjs side's two check steps), then `steps` timed ones: examples/s and cores used, into `out`."""
    for s in range(min(2, steps)):
        run(s)
    t0, c0 = time.perf_counter(), time.process_time()
    for s in range(steps):
        run(s)
    seconds = time.perf_counter() - t0
    out.update(examples=steps * batch, steps=steps, seconds=seconds, examplesPerSecond=steps * batch / seconds, cores=(time.process_time() - c0) / seconds)
    if PROFILE:
        out["profile"] = profile_step(lambda: run(0))
    return out


def item_stage(d: Data, feats: ItemFeatures, check: bool) -> dict:
    cfg = d.manifest["itemUnit"]
    center, context, label = d.t("pair_center"), d.t("pair_context"), d.t("pair_label").float()
    b = cfg["batchSize"]
    time_codes = 2 * len(cfg["timePeriods"])
    out: dict = {}
    if check:
        tower = ItemTower(cfg, d.manifest["vocab"], time_codes)
        tower.load_tfjs(d, "item_unit")
        opt = adam(tower.parameters(), cfg["learningRate"])
        order = d.t("pair_check_order")
        offset = prior_log_odds(label[: 2 * b])
        out["checkLosses"] = [step(opt, lambda r=order[s * b:(s + 1) * b]: item_loss(tower, feats, center[r], context[r], label[r], cfg["logitScale"], offset)) for s in range(2)]
    tower = ItemTower(cfg, d.manifest["vocab"], time_codes)
    opt = adam(tower.parameters(), cfg["learningRate"])
    offset = prior_log_odds(label)
    order = d.t("pair_order")
    steps = d.manifest["itemSteps"]
    run = lambda s: step(opt, lambda r=order[s * b:(s + 1) * b]: item_loss(tower, feats, center[r], context[r], label[r], cfg["logitScale"], offset))
    return timed_steps(run, steps, b, out)


def user_stage(d: Data, feats: ItemFeatures, joint: bool, check: bool) -> dict:
    cfg, item_cfg = d.manifest["multiInterest"], d.manifest["itemUnit"]
    b = cfg["batchSize"]
    negs = d.t("mi_negatives")
    out: dict = {}
    if check:
        tr = UserTrainer(d, feats, joint, True, item_cfg)
        order = d.t("mi_check_order")
        out["checkLosses"] = [step(tr.opt, lambda s=s: tr.loss(order[s * b:(s + 1) * b], negs[s])) for s in range(2)]
    tr = UserTrainer(d, feats, joint, False, item_cfg)
    order = d.t("mi_order")
    steps = d.manifest["userSteps"]
    run = lambda s: step(tr.opt, lambda: tr.loss(order[s * b:(s + 1) * b], negs[s]))
    return timed_steps(run, steps, b, out)


@torch.no_grad()
def eval_stage(d: Data, check: bool) -> dict:
    cfg, dim = d.manifest["multiInterest"], d.manifest["dim"]
    model = MultiInterest(cfg, dim)
    model.load_tfjs(d, "multi_interest")
    model.eval()
    vecs = d.t("item_vectors")
    table = torch.cat([vecs, torch.zeros(1, dim)])
    n = vecs.shape[0]
    long, short = d.t("eval_long"), d.t("eval_short")
    users = long.shape[0]

    def interests_of(lo: int, hi: int) -> torch.Tensor:
        lg, sh = long[lo:hi], short[lo:hi]
        return model(table[torch.where(lg < 0, n, lg)], (lg >= 0).float(), table[torch.where(sh < 0, n, sh)], (sh >= 0).float())

    def all_interests() -> torch.Tensor:
        return torch.cat([interests_of(lo, min(users, lo + 1024)) for lo in range(0, users, 1024)])

    def top50(q: torch.Tensor, block: int = 1024) -> torch.Tensor:
        return torch.cat([torch.topk(q[lo:lo + block] @ vecs.T, 50, dim=1).indices for lo in range(0, q.shape[0], block)])

    interests_of(0, min(users, 1024))  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    interests = all_interests()
    forward_s, forward_c = time.perf_counter() - t0, time.process_time() - c0
    q = interests.reshape(-1, dim)
    top50(q[:64])
    t0, c0 = time.perf_counter(), time.process_time()
    top = top50(q)
    search_s, search_c = time.perf_counter() - t0, time.process_time() - c0
    out = {
        "interests": dict(examples=users, seconds=forward_s, examplesPerSecond=users / forward_s, cores=forward_c / forward_s),
        "scoring": dict(examples=users, seconds=forward_s + search_s, examplesPerSecond=users / (forward_s + search_s), cores=(forward_c + search_c) / (forward_s + search_s)),
        "searchSeconds": search_s,
    }
    if check:
        ref = d.t("check_interests")
        out["interestsMaxAbsDiff"] = float((interests[: ref.shape[0]] - ref).abs().max())
        ref_top = d.np("check_top")
        mine = top[: ref_top.shape[0]].numpy()
        out["top50Overlap"] = float(np.mean([len(set(a) & set(b)) / 50 for a, b in zip(ref_top, mine)]))
    return out


def us_per_call(f, reps: int) -> float:
    for _ in range(max(10, reps // 10)):
        f()
    t0 = time.perf_counter()
    for _ in range(reps):
        f()
    return (time.perf_counter() - t0) * 1e6 / reps


def micro_ops() -> dict:
    """The single ops bench/peer/tfjs.ts times (MICRO_OPS), same names and shapes, µs per call."""
    g = torch.Generator().manual_seed(3)
    one = torch.ones(1)
    table = torch.randn(3123, 32, generator=g)
    ids = torch.randint(0, 3123, (75_000,), generator=g)
    a, b = torch.randn(256, 50, 64, generator=g), torch.randn(256, 50, 64, generator=g)
    e, w = torch.randn(4700, 16, 32, generator=g), torch.randn(4700, 16, 1, generator=g)
    x, k = torch.randn(12800, 64, generator=g), torch.randn(64, 64, generator=g)
    h, dy = torch.randn(4700, 128, generator=g), torch.randn(4700, 128, generator=g)
    v = nn.Parameter(torch.randn(3123, 32, generator=g))
    opt = adam([v], 0.003)
    v.grad = torch.randn(3123, 32, generator=g)
    return {
        "add [1] (fixed cost of an op)": us_per_call(lambda: one + one, 20_000),
        "gather [3123,32] by 75k ids (tag lookup)": us_per_call(lambda: F.embedding(ids, table), 200),
        "add [256,50,64]": us_per_call(lambda: a + b, 500),
        "mul [4700,16,32] x [4700,16,1]": us_per_call(lambda: e * w, 200),
        "matMul [12800,64] x [64,64]": us_per_call(lambda: x @ k, 200),
        "relu backward [4700,128] (ReluGrad, platform/tfKernels.ts)": us_per_call(lambda: torch.ops.aten.threshold_backward(dy, h, 0.0), 200),
        "Adam update of a [3123,32] table": us_per_call(opt.step, 200),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--data", required=True, type=Path, help="folder written by bench/peer/tfjs.ts")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--stages", default="item_tower,user_joint,user_frozen,eval")
    ap.add_argument("--no-check", action="store_true", help="skip the loss comparison with tfjs")
    ap.add_argument("--profile", action="store_true", help="torch.profiler over one step of each training")
    args = ap.parse_args()
    global PROFILE
    PROFILE = args.profile
    torch.set_num_threads(args.threads)
    torch.manual_seed(7)
    d = Data(args.data)
    check = not args.no_check
    feats = ItemFeatures(d, d.manifest["itemUnit"]["timePeriods"])
    stages: dict = {}
    wanted = args.stages.split(",")
    if "item_tower" in wanted:
        stages["item_tower"] = item_stage(d, feats, check)
    if "user_joint" in wanted:
        stages["user_joint"] = user_stage(d, feats, True, check)
    if "user_frozen" in wanted:
        stages["user_frozen"] = user_stage(d, feats, False, check)
    evaluation = eval_stage(d, check) if "eval" in wanted else None
    print(json.dumps({
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "threads": torch.get_num_threads(),
        "interopThreads": torch.get_num_interop_threads(),
        "cudaAvailable": torch.cuda.is_available(),
        "parallel": torch.__config__.parallel_info().splitlines()[-1].strip() if torch.__config__.parallel_info() else "",
        "stages": stages,
        "eval": evaluation,
        "microOps": micro_ops(),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
