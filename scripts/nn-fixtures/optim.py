"""Fixtures for kiln's losses and optimizers (src/nn/losses.ts, sampled-softmax.ts, contrastive.ts, optim.ts).

Run once with Debian's python3 (torch 1.13, CPU):  /usr/bin/python3 scripts/nn-fixtures/optim.py
Writes test/nn/fixtures/optim.json. Every input is float32 and written with .tolist(), so the tests read
exactly the values torch used. Gradients come from autograd.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(1234)
torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'nn', 'fixtures', 'optim.json')


def f32(*shape, scale=1.0):
    return (torch.randn(*shape) * scale).float()


def flat(t):
    return t.detach().reshape(-1).tolist()


def optimizer_case(kind, lrs, weight_decay, steps=4):
    """Two parameters: w [3, 4] with decay, b [4] without (param groups). Gradients per step are fixed;
    one column of w's gradient is tiny so that eps's placement shows in the result."""
    w0 = f32(3, 4)
    b0 = f32(4)
    grads = []
    for _ in range(steps):
        gw = f32(3, 4)
        gw[:, 0] *= 1e-5
        grads.append((gw, f32(4, scale=0.5)))
    w = w0.clone().requires_grad_(True)
    b = b0.clone().requires_grad_(True)
    groups = [{'params': [w], 'weight_decay': weight_decay}, {'params': [b], 'weight_decay': 0.0}]
    cls = torch.optim.Adam if kind == 'adam' else torch.optim.AdamW
    opt = cls(groups, lr=lrs[0], betas=(0.9, 0.999), eps=1e-8, foreach=False)
    after = []
    for s in range(steps):
        for g in opt.param_groups:
            g['lr'] = lrs[s]
        w.grad = grads[s][0].clone()
        b.grad = grads[s][1].clone()
        opt.step()
        after.append({'w': flat(w), 'b': flat(b)})
    state = [opt.state[w], opt.state[b]]
    return {
        'kind': kind, 'lrs': lrs, 'weight_decay': weight_decay, 'beta1': 0.9, 'beta2': 0.999, 'eps': 1e-8,
        'w0': flat(w0), 'b0': flat(b0),
        'grads': [{'w': flat(gw), 'b': flat(gb)} for gw, gb in grads],
        'after': after,
        'm': [flat(s['exp_avg']) for s in state],
        'v': [flat(s['exp_avg_sq']) for s in state],
    }


def clip_case(max_norm):
    g1 = f32(5, 3)
    g2 = f32(7, scale=2.0)
    p1 = torch.zeros(5, 3, requires_grad=True)
    p2 = torch.zeros(7, requires_grad=True)
    p1.grad = g1.clone()
    p2.grad = g2.clone()
    norm = torch.nn.utils.clip_grad_norm_([p1, p2], max_norm)
    return {'max_norm': max_norm, 'g1': flat(g1), 'g2': flat(g2), 'norm': norm.item(),
            'clipped1': flat(p1.grad), 'clipped2': flat(p2.grad)}


def bce_case(weighted):
    rows, cols = 6, 3
    x = f32(rows, cols, scale=3.0)
    x[0, 0], x[1, 1], x[2, 2], x[3, 0] = 60.0, -80.0, 120.0, -1e-3
    y = torch.rand(rows, cols).round()
    y[4, :] = torch.tensor([0.3, 0.75, 1.0])
    w = (torch.rand(rows, 1) * 2).float()
    xg = x.clone().requires_grad_(True)
    loss = F.binary_cross_entropy_with_logits(xg, y, weight=w if weighted else None)
    loss.backward()
    return {'rows': rows, 'cols': cols, 'logits': flat(x), 'targets': flat(y),
            'weights': flat(w) if weighted else None, 'loss': loss.item(), 'grad': flat(xg.grad)}


def ce_case(big):
    rows, classes = 7, 5
    x = f32(rows, classes, scale=2.0)
    if big:
        x[0] += 1000.0
        x[1, 2] = -500.0
    t = torch.randint(0, classes, (rows,))
    t[3] = -100
    t[5] = -100
    xg = x.clone().requires_grad_(True)
    loss = F.cross_entropy(xg, t, ignore_index=-100)
    loss.backward()
    return {'rows': rows, 'classes': classes, 'logits': flat(x), 'targets': t.tolist(),
            'loss': loss.item(), 'grad': flat(xg.grad)}


def nt_xent(z, tau):
    """NT-Xent as SimCLR: cosine similarity over tau, the diagonal excluded, views i and i+N paired."""
    n2 = z.shape[0]
    n = n2 // 2
    u = F.normalize(z, dim=1)
    sim = u @ u.t() / tau
    sim = sim.masked_fill(torch.eye(n2, dtype=torch.bool), float('-inf'))
    target = (torch.arange(n2) + n) % n2
    return F.cross_entropy(sim, target)


def nt_xent_case(n, dim, tau):
    z = f32(2 * n, dim)
    z[n:] = z[:n] + 0.3 * f32(n, dim)
    zg = z.clone().requires_grad_(True)
    loss = nt_xent(zg, tau)
    loss.backward()
    return {'rows': 2 * n, 'dim': dim, 'tau': tau, 'z': flat(z), 'loss': loss.item(), 'grad': flat(zg.grad)}


def sampled_case():
    """The sampled softmax's formula in torch: corrected logits z - log Q, accidental hits at -inf,
    cross-entropy towards column 0. Negatives fixed (one of them hits row 0's and row 2's target)."""
    rows, classes, k = 4, 9, 6
    q = torch.rand(classes) + 0.1
    q = q / q.sum()
    targets = torch.tensor([2, 7, 4, 0])
    negatives = torch.tensor([5, 2, 8, 4, 1, 5])
    x = f32(rows, 1 + k, scale=2.0)
    xg = x.clone().requires_grad_(True)
    logq = torch.log(q.double()).float()
    corrected = xg - torch.cat([logq[targets].unsqueeze(1), logq[negatives].unsqueeze(0).expand(rows, k)], dim=1)
    hit = torch.cat([torch.zeros(rows, 1, dtype=torch.bool), negatives.unsqueeze(0) == targets.unsqueeze(1)], dim=1)
    corrected = corrected.masked_fill(hit, float('-inf'))
    loss = F.cross_entropy(corrected, torch.zeros(rows, dtype=torch.long))
    loss.backward()
    return {'rows': rows, 'k': k, 'q': q.tolist(), 'targets': targets.tolist(), 'negatives': negatives.tolist(),
            'logits': flat(x), 'loss': loss.item(), 'grad': flat(xg.grad)}


fixtures = {
    'torch': torch.__version__,
    'adam': optimizer_case('adam', [1e-2, 1e-2, 1e-2, 1e-2], 0.0),
    'adam_l2': optimizer_case('adam', [1e-2, 2e-2, 5e-3, 1e-2], 0.1),
    'adamw': optimizer_case('adamw', [1e-2, 2e-2, 5e-3, 1e-2], 0.1),
    'clip': [clip_case(1.0), clip_case(100.0)],
    'bce': [bce_case(False), bce_case(True)],
    'ce': [ce_case(False), ce_case(True)],
    'nt_xent': [nt_xent_case(4, 6, 0.5), nt_xent_case(3, 5, 0.1)],
    'sampled': sampled_case(),
}
assert all(math.isfinite(c['loss']) for c in fixtures['bce'] + fixtures['ce'] + fixtures['nt_xent'])
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, 'w') as f:
    json.dump(fixtures, f)
print('wrote', os.path.relpath(OUT), os.path.getsize(OUT), 'bytes')
