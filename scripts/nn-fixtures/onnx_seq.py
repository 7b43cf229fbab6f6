"""A PyTorch sequence model with kiln's ONNX input names, for test/pipelines/onnx-import.test.ts.
Made once with Debian's PyTorch 1.13 and onnx 1.12.

The model reads what kiln builds from a lastK feature with this encoding (the test's kiln sequence
model has it): T = 6 steps, F = 5 numeric features per step (one numeric field: value and missing
flag; then age, gap and gap-unknown), categorical fields `category` (7 ids: 0 pad, 1 OOV, 2 null and
4 values) and `channel` (5 ids):

  num         float32 [batch, 6, 5]
  len         int64   [batch]         events per row (right padding; 0 = empty history)
  c.category  int64   [batch, 6]
  c.channel   int64   [batch, 6]

  tokens = [num ; Embedding(7, 3)(c.category) ; Embedding(5, 2)(c.channel)]      (width 10)
  y = GRU(10 -> 8)(tokens); e = y at step len-1, or a learned vector where len = 0
  logits = Linear(8 -> 2)(e)   (column 0: the default head's logit)

It is trained for a few Adam steps on random data (a BCE loss on column 0, an MSE on column 1) and
exported with a dynamic batch axis (opset 17), outputs `logits` [batch, 2] and `embedding` [batch, 8].

Writes to test/nn/fixtures/:
  onnx-seq-torch.onnx
  onnx-seq-torch.json    inputs (10 rows: empty, partial and full histories, padding zeros as kiln
                         pads) and torch's outputs, both as flat lists with their shapes

Run: /usr/bin/python3 scripts/nn-fixtures/onnx_seq.py
"""
import json
import os
import sys

sys.path = [p for p in sys.path if os.path.abspath(p or '.') != os.path.dirname(os.path.abspath(__file__))]

import onnx  # noqa: E402
import torch  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'nn', 'fixtures')
T, F, CAT, CHAN, H = 6, 5, 7, 5, 8
torch.manual_seed(16)
torch.set_num_threads(1)


class SeqModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.category = torch.nn.Embedding(CAT, 3)
        self.channel = torch.nn.Embedding(CHAN, 2)
        self.gru = torch.nn.GRU(F + 3 + 2, H, batch_first=True)
        self.empty = torch.nn.Parameter(torch.randn(H))
        self.head = torch.nn.Linear(H, 2)

    def forward(self, num, len, category, channel):  # noqa: A002 (kiln's input name)
        tokens = torch.cat([num, self.category(category), self.channel(channel)], dim=2)
        y, _ = self.gru(tokens)
        idx = (len.clamp(min=1) - 1).view(-1, 1, 1).expand(-1, 1, H)
        last = torch.gather(y, 1, idx).squeeze(1)
        e = torch.where((len == 0).unsqueeze(1), self.empty.unsqueeze(0).expand_as(last), last)
        return self.head(e), e


def batch(n, gen):
    """Rows as kiln encodes them: steps past a row's length are zero (id 0, the padding id)."""
    lengths = torch.tensor([[0, T, 1, 3, 5, 2, 0, 4, T, 1][i % 10] for i in range(n)], dtype=torch.int64)
    valid = (torch.arange(T).view(1, -1) < lengths.view(-1, 1))
    num = torch.randn(n, T, F, generator=gen) * valid.unsqueeze(2)
    cat = torch.randint(1, CAT, (n, T), generator=gen) * valid
    chan = torch.randint(1, CHAN, (n, T), generator=gen) * valid
    return num, lengths, cat, chan


def flat(t):
    return {'shape': list(t.shape), 'values': [float(v) if t.is_floating_point() else int(v) for v in t.reshape(-1).tolist()]}


def main():
    gen = torch.Generator().manual_seed(3)
    model = SeqModel()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(20):
        num, lengths, cat, chan = batch(32, gen)
        target = (num[:, :, 0].sum(1) > 0).float()
        logits, _ = model(num, lengths, cat, chan)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 0], target) + ((logits[:, 1] - num.sum((1, 2))) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    inputs = batch(10, gen)
    path = os.path.join(OUT, 'onnx-seq-torch.onnx')
    names = ['num', 'len', 'c.category', 'c.channel']
    torch.onnx.export(
        model, inputs, path, input_names=names, output_names=['logits', 'embedding'],
        dynamic_axes={**{n: {0: 'batch'} for n in names}, 'logits': {0: 'batch'}, 'embedding': {0: 'batch'}},
        opset_version=17, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))
    with torch.no_grad():
        logits, e = model(*inputs)
    out = {'inputs': {n: flat(t) for n, t in zip(names, inputs)}, 'outputs': {'logits': flat(logits), 'embedding': flat(e)}}
    with open(os.path.join(OUT, 'onnx-seq-torch.json'), 'w') as f:
        json.dump(out, f)
    print('wrote', path)


if __name__ == '__main__':
    main()
