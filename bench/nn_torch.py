"""PyTorch yardstick for bench/nn.ts (Debian's python3-torch, CPU). Prints one JSON line.

Same shapes and data sizes as the kiln side: a GRU epoch, a transformer epoch (dropout 0.1), and
one-sequence transformer inference on one thread. Random data (seeded): speed does not depend on it.
Run with OMP_WAIT_POLICY=PASSIVE and 2 threads (bench/nn.ts sets both). BLAS matters: Debian's torch
uses the system BLAS for some products; install libopenblas0-pthread for the strongest yardstick.
"""
import json, sys, time
import torch

def gru_epoch(n, t, f, h, b, reps):
    torch.manual_seed(0)
    x = torch.randn(n, t, f); y = (torch.rand(n) < 0.3).float()
    gru = torch.nn.GRU(f, h, batch_first=True); head = torch.nn.Linear(h, 1)
    opt = torch.optim.Adam(list(gru.parameters()) + list(head.parameters()), 1e-3)
    out = []
    for _ in range(reps + 1):
        t0 = time.perf_counter()
        for i in range(0, n, b):
            _, hn = gru(x[i:i + b]); p = head(hn[-1]).squeeze(1)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(p, y[i:i + b])
            opt.zero_grad(); loss.backward(); opt.step()
        out.append(time.perf_counter() - t0)
    return out[1:]

def transformer(n, t, f, d, heads, ff, layers, b, reps, infer_reps):
    torch.manual_seed(0)
    x = torch.randn(n, t, f); y = (torch.rand(n) < 0.3).float()
    inp = torch.nn.Linear(f, d)
    enc = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(d, heads, dim_feedforward=ff, dropout=0.1, batch_first=True), layers)
    head = torch.nn.Linear(d, 1)
    opt = torch.optim.Adam(list(inp.parameters()) + list(enc.parameters()) + list(head.parameters()), 1e-3)
    out = []
    for _ in range(reps + 1):
        t0 = time.perf_counter()
        for i in range(0, n, b):
            p = head(enc(inp(x[i:i + b])).mean(1)).squeeze(1)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(p, y[i:i + b])
            opt.zero_grad(); loss.backward(); opt.step()
        out.append(time.perf_counter() - t0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    inp.eval(); enc.eval(); head.eval()
    one = x[:1]; lat = []
    with torch.no_grad():
        for i in range(infer_reps + 200):
            t0 = time.perf_counter(); head(enc(inp(one)).mean(1)); dt = time.perf_counter() - t0
            if i >= 200: lat.append(dt)
    torch.set_num_threads(threads)
    return out[1:], lat

if __name__ == '__main__':
    cfg = json.loads(sys.argv[1])
    torch.set_num_threads(cfg['threads'])
    res = {'torch': torch.__version__, 'blas': 'openblas' if 'openblas' in open('/proc/self/maps').read() else 'generic'}
    for g in cfg['gru']:
        res.setdefault('gru', []).append(gru_epoch(g['n'], g['t'], g['f'], g['h'], g['b'], cfg['reps']))
    for tr in cfg['transformer']:
        ep, lat = transformer(tr['n'], tr['t'], tr['f'], tr['d'], tr['heads'], tr['ff'], tr['layers'], tr['b'], cfg['trReps'], cfg['inferReps'])
        res.setdefault('transformer', []).append({'epochs': ep, 'latency': lat})
    print(json.dumps(res))
