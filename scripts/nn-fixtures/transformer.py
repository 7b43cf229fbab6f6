"""Writes test/nn/fixtures/transformer.json: PyTorch references for kiln's LayerNorm, MultiheadAttention,
TransformerEncoder (post-norm ReLU; norm_first GELU with a final norm) and positional inputs.

Run with Debian's python3-torch (1.13):  /usr/bin/python3 scripts/nn-fixtures/transformer.py
Every input and parameter is a float32 value; the references are computed in float64 from them, so the
fixture holds (to printing precision) the exact answer kiln's float32 passes are compared against.
The loss is sum(y * w * valid) with a fixed random w and valid = 1 at steps t < length (all steps for
LayerNorm and the attention alone); gradients are of that loss.
"""
import json
import math
import os

import torch

torch.manual_seed(16)
OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'nn', 'fixtures', 'transformer.json')


def f32(t):
    return t.float().double()


def rand(*shape, scale=1.0):
    return f32(torch.randn(*shape, dtype=torch.float64) * scale)


def flat(t):
    return [float('%.9g' % v) for v in t.detach().reshape(-1).tolist()]


def randomize(module):
    """Fresh float32 values for every parameter (stacked layers differ; norms and biases not 1 and 0):
    matrices N(0, 1/fan_in), vectors named *bias N(0, 0.01), other vectors (norm weights) 1 + N(0, 0.01)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.dim() >= 2:
                p.copy_(rand(*p.shape, scale=1 / math.sqrt(p.shape[-1])))
            elif name.endswith('bias'):
                p.copy_(rand(*p.shape, scale=0.1))
            else:
                p.copy_(1 + rand(*p.shape, scale=0.1))


def run(module, x, w, forward):
    x = x.clone().requires_grad_(True)
    y = forward(module, x)
    (y * w).sum().backward()
    return {
        'params': {n: flat(p) for n, p in module.named_parameters()},
        'x': flat(x), 'w': flat(w), 'y': flat(y), 'dx': flat(x.grad),
        'grads': {n: flat(p.grad) for n, p in module.named_parameters()},
    }


def valid_mask(lengths, B, T):
    return torch.tensor([[1.0 if t < lengths[b] else 0.0 for t in range(T)] for b in range(B)], dtype=torch.float64)


D, HEADS, FF, LAYERS, B, T, LENGTHS = 8, 2, 16, 2, 3, 5, [5, 3, 1]
pad = torch.tensor([[t >= LENGTHS[b] for t in range(T)] for b in range(B)])
out = {'config': {'dim': D, 'heads': HEADS, 'ff': FF, 'layers': LAYERS, 'batch': B, 'time': T, 'lengths': LENGTHS}}

# LayerNorm alone: 4 rows of 6.
ln = torch.nn.LayerNorm(6, eps=1e-5).double()
randomize(ln)
out['layerNorm'] = {'rows': 4, 'dim': 6, **run(ln, rand(4, 6, scale=2.0), rand(4, 6), lambda m, x: m(x))}

# MultiheadAttention alone, key padding from LENGTHS; the loss covers every position (padded queries too).
mha = torch.nn.MultiheadAttention(D, HEADS, dropout=0.0, batch_first=True).double()
randomize(mha)
out['attention'] = run(mha, rand(B, T, D), rand(B, T, D),
                       lambda m, x: m(x, x, x, key_padding_mask=pad, need_weights=False)[0])

# Encoder stacks; the loss covers the valid positions only.
wmask = valid_mask(LENGTHS, B, T).unsqueeze(-1)
for key, norm_first, act, final in [('encoderPost', False, 'relu', False), ('encoderPre', True, 'gelu', True)]:
    layer = torch.nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.0, activation=act, batch_first=True, norm_first=norm_first)
    norm = torch.nn.LayerNorm(D) if final else None
    enc = torch.nn.TransformerEncoder(layer, LAYERS, norm=norm, enable_nested_tensor=False).double()
    randomize(enc)
    enc.train()
    res = run(enc, rand(B, T, D), rand(B, T, D) * wmask, lambda m, x: m(x, src_key_padding_mask=pad))
    out[key] = {'normFirst': norm_first, 'activation': act, 'finalNorm': final, **res}


# Positions: learned (maxLen 6) plus the time-gap projection with frequencies 1/4, 1/2, 1, 2.
class Positions(torch.nn.Module):
    def __init__(self, max_len, dim, freqs):
        super().__init__()
        self.pos = torch.nn.Embedding(max_len, dim)
        self.time = torch.nn.Linear(1 + 2 * len(freqs), dim)
        self.freqs = freqs

    def forward(self, x, gaps):
        u = torch.log1p(gaps.clamp(min=0))
        feats = [u]
        for w in self.freqs:
            feats += [torch.sin(w * u), torch.cos(w * u)]
        return x + self.pos.weight[: x.shape[1]] + self.time(torch.stack(feats, -1))


FREQS = [0.25, 0.5, 1.0, 2.0]
posm = Positions(6, D, FREQS).double()
randomize(posm)
gaps = f32(torch.exp(torch.rand(B, T, dtype=torch.float64) * 17) - 1)
gaps[:, 0] = 0
res = run(posm, rand(B, T, D), rand(B, T, D), lambda m, x: m(x, gaps))
out['positions'] = {'maxLen': 6, 'freqs': FREQS, 'gaps': flat(gaps), **res}

with open(OUT, 'w') as fh:
    json.dump(out, fh, separators=(',', ':'))
print('wrote', os.path.normpath(OUT), os.path.getsize(OUT), 'bytes')
