/**
 * A small ONNX graph builder: declare inputs (a string dim is symbolic, e.g. 'batch'), add
 * initializers from typed arrays (stored as raw_data, as torch.onnx.export does), add nodes with
 * typed attributes, name outputs, and get ModelProto bytes (IR version 8, default-domain opset 17).
 * Names of intermediate values are made unique by a counter, so subgraph helpers (export.ts) can be
 * composed freely; `node` returns the names of its outputs.
 */
import { KilnError } from '../../core/errors.js';
import { AttrType, DataType, encodeModel, type AttributeProto, type Dim, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from './model.js';
import { tensorProto } from './tensor.js';

export const IR_VERSION = 8;
export const OPSET = 17;

export type ElemType = 'float32' | 'int32' | 'int64' | 'bool';
const ELEM: Record<ElemType, number> = { float32: DataType.FLOAT, int32: DataType.INT32, int64: DataType.INT64, bool: DataType.BOOL };

/** An attribute value, tagged with its ONNX type. */
export type Attr =
  | { float: number }
  | { int: number }
  | { string: string }
  | { floats: readonly number[] }
  | { ints: readonly number[] }
  | { tensor: TensorProto };

const utf8 = new TextEncoder();

function attribute(name: string, a: Attr): AttributeProto {
  if ('float' in a) return { name, type: AttrType.FLOAT, f: a.float };
  if ('int' in a) return { name, type: AttrType.INT, i: a.int };
  if ('string' in a) return { name, type: AttrType.STRING, s: utf8.encode(a.string) };
  if ('floats' in a) return { name, type: AttrType.FLOATS, floats: [...a.floats] };
  if ('ints' in a) return { name, type: AttrType.INTS, ints: [...a.ints] };
  return { name, type: AttrType.TENSOR, t: a.tensor };
}

function valueInfo(name: string, type: ElemType, dims: readonly (number | string)[] | null): ValueInfoProto {
  const shape: Dim[] | undefined = dims ? dims.map((d) => (typeof d === 'string' ? { param: d } : { value: d })) : undefined;
  return { name, type: { kind: 'tensor', tensor: shape ? { elemType: ELEM[type], shape } : { elemType: ELEM[type] } } };
}

export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly inits: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(readonly name = 'kiln', readonly producerVersion = '') {}

  private claim(name: string): string {
    if (this.names.has(name)) throw new KilnError('INVALID_ARGUMENT', `ONNX graph: the name ${name} is used twice`);
    this.names.add(name);
    return name;
  }

  /** A fresh value name `prefix_N`. */
  fresh(prefix: string): string {
    let n: string;
    do n = `${prefix}_${this.counter++}`;
    while (this.names.has(n));
    return this.claim(n);
  }

  /** A graph input; string dims are symbolic (e.g. `['batch', 'time', 8]`). */
  input(name: string, type: ElemType, dims: readonly (number | string)[]): string {
    this.inputs.push(valueInfo(this.claim(name), type, dims));
    return name;
  }

  /** An initializer with the given name (e.g. a state_dict key), or a fresh one when the name is taken. */
  initializer(name: string, data: Float32Array | Int32Array | BigInt64Array, dims: readonly number[]): string {
    const n = this.names.has(name) ? this.fresh(name) : this.claim(name);
    this.inits.push(tensorProto(n, data, dims));
    return n;
  }

  /** A float constant (initializer); a scalar when dims is []. */
  constF(values: readonly number[] | Float32Array, dims: readonly number[] = [values.length], prefix = 'const'): string {
    return this.initializer(this.fresh(prefix), Float32Array.from(values), dims);
  }

  /** An int64 constant (shapes, axes, indices). */
  constI64(values: readonly number[], dims: readonly number[] = [values.length], prefix = 'const'): string {
    return this.initializer(this.fresh(prefix), BigInt64Array.from(values.map((v) => BigInt(v))), dims);
  }

  /** Adds a node; returns its output names (fresh unless given). */
  node(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, outputs: number | readonly string[] = 1): string[] {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase())) : outputs.map((o) => this.claim(o));
    this.nodes.push({
      input: [...inputs],
      output: outs,
      name: `${opType}_${this.nodes.length}`,
      opType,
      domain: '',
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** One-output node. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}): string {
    return this.node(opType, inputs, attrs)[0]!;
  }

  /** Declares `value` as a graph output named `name` (through an Identity when the names differ). */
  output(value: string, name: string, type: ElemType, dims: readonly (number | string)[] | null): void {
    if (value !== name) this.node('Identity', [value], {}, [name]);
    this.outputs.push(valueInfo(name, type, dims));
  }

  model(docString = ''): ModelProto {
    if (this.outputs.length === 0) throw new KilnError('INVALID_ARGUMENT', `ONNX graph ${this.name} has no outputs`);
    return {
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'kiln',
      producerVersion: this.producerVersion,
      domain: '',
      modelVersion: 0,
      ...(docString ? { docString } : {}),
      graph: { node: this.nodes, name: this.name, initializer: this.inits, input: this.inputs, output: this.outputs, valueInfo: [] },
      metadataProps: [],
    };
  }

  /** The ModelProto bytes. */
  bytes(docString = ''): Uint8Array {
    return encodeModel(this.model(docString));
  }
}
