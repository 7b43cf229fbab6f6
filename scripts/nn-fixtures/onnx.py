"""ONNX fixtures for test/nn/onnx.test.ts, made once with Debian's PyTorch 1.13 and onnx 1.12.

Writes to test/nn/fixtures/:
  onnx-gru.onnx / onnx-gru.json          a GRU classifier: x [B,T,4] float, lengths [B] int64 ->
                                          logits [B,3] from the hidden state at each row's last valid step
  onnx-transformer.onnx / .json           Linear(5->8), 2 post-norm encoder layers (d 8, 2 heads, dff 16,
                                          ReLU) with a key padding mask from lengths, masked mean pooling,
                                          Linear(8->2)
  onnx-attrs.onnx                         a hand-made model (onnx.helper) with every attribute kind and
                                          float_data / int64_data initializers, for the decoder
Both exported models have a dynamic batch axis (and dynamic time axis). The JSON holds the state_dict
(name -> shape, values), sample inputs (right-padded rows of different lengths) and torch's outputs.

Run: /usr/bin/python3 scripts/nn-fixtures/onnx.py
"""
import json
import os
import sys

# This file is named onnx.py: keep its own folder off the path so `import onnx` finds the library.
sys.path = [p for p in sys.path if os.path.abspath(p or '.') != os.path.dirname(os.path.abspath(__file__))]

import onnx  # noqa: E402
import torch  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'nn', 'fixtures')
torch.manual_seed(7)
torch.set_num_threads(1)


def f32(t):
    return [float(v) for v in t.detach().reshape(-1).to(torch.float32).tolist()]


def state(model):
    return {k: {'shape': list(v.shape), 'values': f32(v)} for k, v in model.state_dict().items()}


def last_valid(y, lengths):
    idx = (lengths - 1).view(-1, 1, 1).expand(-1, 1, y.shape[2])
    return torch.gather(y, 1, idx).squeeze(1)


class GruClassifier(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = torch.nn.GRU(4, 8, batch_first=True)
        self.head = torch.nn.Linear(8, 3)

    def forward(self, x, lengths):
        y, _ = self.gru(x)
        return self.head(last_valid(y, lengths))


class TransformerClassifier(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(5, 8)
        layer = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)
        self.encoder = torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = torch.nn.Linear(8, 2)

    def forward(self, x, lengths):
        t = torch.arange(x.shape[1]).unsqueeze(0)
        valid = t < lengths.unsqueeze(1)
        h = self.encoder(self.proj(x), src_key_padding_mask=~valid)
        m = valid.unsqueeze(2).to(h.dtype)
        return self.head((h * m).sum(1) / lengths.unsqueeze(1).to(h.dtype))


def export(model, name, x, lengths):
    model.eval()
    path = os.path.join(OUT, f'onnx-{name}.onnx')
    torch.onnx.export(
        model, (x, lengths), path, input_names=['x', 'lengths'], output_names=['logits'],
        dynamic_axes={'x': {0: 'batch', 1: 'time'}, 'lengths': {0: 'batch'}, 'logits': {0: 'batch'}},
        opset_version=17, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))
    with torch.no_grad():
        y = model(x, lengths)
    doc = {
        'state_dict': state(model),
        'inputs': {'x': {'shape': list(x.shape), 'values': f32(x)}, 'lengths': [int(v) for v in lengths]},
        'logits': {'shape': list(y.shape), 'values': f32(y)},
    }
    with open(os.path.join(OUT, f'onnx-{name}.json'), 'w') as f:
        json.dump(doc, f)


def attrs_model():
    w = helper.make_tensor('w', TensorProto.FLOAT, [2, 3], [0.5, -1.25, 2.0, 3.0, -0.0, 1e-3])
    shape = helper.make_tensor('shape', TensorProto.INT64, [2], [3, -1])
    node = helper.make_node(
        'Reshape', ['w', 'shape'], ['y'], name='r', doc_string='all attribute kinds',
        f=1.5, i=-7, big=2 ** 40, s='hello', t=helper.make_tensor('c', TensorProto.INT32, [3], [1, -2, 3]),
        floats=[0.25, -4.0], ints=[1, -1, 300], strings=['a', 'bc'])
    graph = helper.make_graph(
        [node], 'attrs', [], [helper.make_tensor_value_info('y', TensorProto.FLOAT, [3, 'n'])], [w, shape])
    model = helper.make_model(graph, producer_name='fixture', opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    model.metadata_props.add(key='k', value='v')
    onnx.save(model, os.path.join(OUT, 'onnx-attrs.onnx'))


def main():
    os.makedirs(OUT, exist_ok=True)
    lengths = torch.tensor([5, 2, 4], dtype=torch.int64)
    export(GruClassifier(), 'gru', torch.randn(3, 5, 4), lengths)
    export(TransformerClassifier(), 'transformer', torch.randn(3, 5, 5), lengths)
    attrs_model()


if __name__ == '__main__':
    main()
