#!/usr/bin/python3
"""Reference values for kiln's GRU, Embedding and sequence pooling (test/nn/{gru,embedding,pooling}.test.ts).

Run with Debian's torch: /usr/bin/python3 scripts/nn-fixtures/gru.py  (writes test/nn/fixtures/gru.json)

Every input and weight is drawn in float32 (the values kiln holds); the passes run in float64, so the
fixture is the exact answer for those values and kiln's float32 result is compared to it at 1e-5.
Lengths go through pack_padded_sequence, so padded steps are not run; the input holds noise there,
which kiln must ignore. The loss is a fixed weighted sum of the outputs: sum(y * wy) + sum(h_n * wh).
"""
import json
import os

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

torch.manual_seed(16)
OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'nn', 'fixtures', 'gru.json')


def f32(*shape, scale=1.0):
    """Uniform(-scale, scale), rounded to float32, held as float64."""
    return ((torch.rand(*shape) * 2 - 1) * scale).float().double()


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def gru_case(gru, x, lengths, h0):
    wy = f32(x.shape[0], x.shape[1], gru.hidden_size)
    wh = f32(x.shape[0], gru.hidden_size)
    xg = x.clone().requires_grad_(True)
    h0g = h0.clone().requires_grad_(True) if h0 is not None else None
    gru.zero_grad()
    packed = pack_padded_sequence(xg, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    out, hn = gru(packed, h0g.unsqueeze(0) if h0g is not None else None)
    y, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    hn = hn.squeeze(0)
    loss = (y * wy).sum() + (hn * wh).sum()
    loss.backward()
    case = {
        'lengths': lengths, 'x': flat(x), 'wy': flat(wy), 'wh': flat(wh), 'y': flat(y), 'h': flat(hn),
        'dx': flat(xg.grad), 'grads': {name: flat(p.grad) for name, p in gru.named_parameters()},
    }
    if h0 is not None:
        case['h0'] = flat(h0)
        case['dh0'] = flat(h0g.grad)
    return case


def gru_fixture():
    B, T, IN, H = 3, 7, 5, 6
    gru = torch.nn.GRU(IN, H, batch_first=True).double()
    with torch.no_grad():
        for p in gru.parameters():
            p.copy_(f32(*p.shape, scale=0.5))
    lengths = [7, 4, 1]
    cases = [gru_case(gru, f32(B, T, IN), lengths, None), gru_case(gru, f32(B, T, IN), [5, 7, 2], f32(B, H))]
    return {
        'batch': B, 'steps': T, 'in': IN, 'hidden': H,
        'weights': {name: flat(p) for name, p in gru.named_parameters()}, 'cases': cases,
    }


def embedding_fixture():
    N, D = 10, 4
    emb = torch.nn.Embedding(N, D, padding_idx=0).double()
    with torch.no_grad():
        emb.weight.copy_(f32(N, D))
        emb.weight[0].zero_()
    ids = torch.tensor([[3, 7, 0, 3, 9, 0, 0], [1, 1, 2, 8, 0, 5, 3]])
    w = f32(ids.shape[0], ids.shape[1], D)
    y = emb(ids)
    (y * w).sum().backward()
    return {'n': N, 'dim': D, 'padding': 0, 'weight': flat(emb.weight), 'ids': flat(ids), 'w': flat(w),
            'y': flat(y), 'grad': flat(emb.weight.grad)}


def pool(kind, x, lengths, query):
    """Pooling over valid steps; a sequence of length 0 pools to zeros."""
    rows = []
    for b, L in enumerate(lengths):
        if L == 0:
            rows.append(torch.zeros(x.shape[2], dtype=x.dtype))
        elif kind == 'last':
            rows.append(x[b, L - 1])
        elif kind == 'mean':
            rows.append(x[b, :L].mean(0))
        else:
            a = torch.softmax(x[b, :L] @ query, 0)
            rows.append((a.unsqueeze(1) * x[b, :L]).sum(0))
    return torch.stack(rows)


def pooling_fixture():
    B, T, D = 4, 7, 4
    lengths = [7, 4, 1, 0]
    x = f32(B, T, D, scale=2.0)
    query = f32(D)
    w = f32(B, D)
    out = {'batch': B, 'steps': T, 'dim': D, 'lengths': lengths, 'x': flat(x), 'query': flat(query), 'w': flat(w)}
    for kind in ['last', 'mean', 'attention']:
        xg = x.clone().requires_grad_(True)
        qg = query.clone().requires_grad_(True)
        y = pool(kind, xg, lengths, qg)
        (y * w).sum().backward()
        out[kind] = {'y': flat(y), 'dx': flat(xg.grad)}
        if kind == 'attention':
            out[kind]['dquery'] = flat(qg.grad)
    return out


if __name__ == '__main__':
    fixture = {'torch': torch.__version__, 'gru': gru_fixture(), 'embedding': embedding_fixture(), 'pooling': pooling_fixture()}
    with open(OUT, 'w') as f:
        json.dump(fixture, f)
        f.write('\n')
    print(f'wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes)')
