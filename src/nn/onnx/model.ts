/**
 * The part of onnx.proto (proto2, IR version 8) kiln reads and writes, as plain objects, with an
 * encoder and a decoder over proto.ts. Field numbers are the official ones, cited at each message.
 * Decoding skips unknown fields (training_info, functions, sparse tensors, quantization annotations,
 * non-tensor types' details...), so files from newer exporters still load; strings are UTF-8; tensor
 * payloads stay as they came (raw_data or the typed lists; tensor.ts reads either). int64
 * scalars (versions, dims, attribute ints) are numbers, exact below 2^53; int64 tensor payloads are
 * BigInt64Array, exact.
 */
import { KilnError } from '../../core/errors.js';
import { ProtoReader, ProtoWriter, WIRE_I32, WIRE_I64, WIRE_LEN, WIRE_VARINT } from './proto.js';

/** TensorProto.DataType. */
export const DataType = { UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9, FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13 } as const;

/** AttributeProto.AttributeType. */
export const AttrType = { UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10 } as const;

export interface TensorProto {
  name: string;
  dims: number[];
  dataType: number;
  floatData?: Float32Array;
  int32Data?: Int32Array;
  int64Data?: BigInt64Array;
  doubleData?: Float64Array;
  rawData?: Uint8Array;
  docString?: string;
}

export interface Dim { value?: number; param?: string }
export interface TensorType { elemType: number; shape?: Dim[] }
/** TypeProto; `kind` is 'tensor' for tensor_type, otherwise the other oneof member seen (details not kept). */
export interface TypeProto { kind: 'tensor' | 'sequence' | 'map' | 'optional' | 'sparse_tensor' | 'unknown'; tensor?: TensorType; denotation?: string }
export interface ValueInfoProto { name: string; type?: TypeProto; docString?: string }

export interface AttributeProto {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
  tensors?: TensorProto[];
  graphs?: GraphProto[];
  docString?: string;
}

export interface NodeProto { input: string[]; output: string[]; name: string; opType: string; domain: string; attribute: AttributeProto[]; docString?: string }

export interface GraphProto {
  node: NodeProto[];
  name: string;
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  valueInfo: ValueInfoProto[];
  docString?: string;
}

export interface OperatorSetId { domain: string; version: number }

export interface ModelProto {
  irVersion: number;
  opsetImport: OperatorSetId[];
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString?: string;
  graph: GraphProto;
  metadataProps: { key: string; value: string }[];
}

// ---- encode ----------------------------------------------------------------------------------

/** TensorProto: dims 1, data_type 2, float_data 4 (packed), int32_data 5 (packed), int64_data 7 (packed), name 8, raw_data 9, double_data 10 (packed), doc_string 12. */
function writeTensor(w: ProtoWriter, t: TensorProto): void {
  for (const d of t.dims) w.int64Field(1, d);
  w.int64Field(2, t.dataType);
  if (t.floatData) w.packedFloats(4, t.floatData);
  if (t.int32Data) w.packedVarints(5, t.int32Data);
  if (t.int64Data) w.packedVarints(7, t.int64Data);
  if (t.name) w.stringField(8, t.name);
  if (t.rawData) w.bytesField(9, t.rawData);
  if (t.doubleData) w.packedDoubles(10, t.doubleData);
  if (t.docString) w.stringField(12, t.docString);
}

/** TypeProto: tensor_type 1 { elem_type 1, shape 2 { dim 1 { dim_value 1 | dim_param 2 } } }, denotation 6. */
function writeType(w: ProtoWriter, t: TypeProto): void {
  const tt = t.tensor;
  if (t.kind === 'tensor' && tt) {
    w.messageField(1, (wt) => {
      wt.int64Field(1, tt.elemType);
      if (tt.shape) {
        wt.messageField(2, (ws) => {
          for (const d of tt.shape!) {
            ws.messageField(1, (wd) => {
              if (d.value !== undefined) wd.int64Field(1, d.value);
              else if (d.param !== undefined) wd.stringField(2, d.param);
            });
          }
        });
      }
    });
  }
  if (t.denotation) w.stringField(6, t.denotation);
}

/** ValueInfoProto: name 1, type 2, doc_string 3. */
function writeValueInfo(w: ProtoWriter, v: ValueInfoProto): void {
  w.stringField(1, v.name);
  if (v.type) w.messageField(2, (wt) => writeType(wt, v.type!));
  if (v.docString) w.stringField(3, v.docString);
}

/** AttributeProto: name 1, f 2, i 3, s 4, t 5, g 6, floats 7, ints 8, strings 9, tensors 10, graphs 11, doc_string 13, type 20. */
function writeAttribute(w: ProtoWriter, a: AttributeProto): void {
  w.stringField(1, a.name);
  if (a.f !== undefined) w.floatField(2, a.f);
  if (a.i !== undefined) w.int64Field(3, a.i);
  if (a.s) w.bytesField(4, a.s);
  if (a.t) w.messageField(5, (wt) => writeTensor(wt, a.t!));
  if (a.g) w.messageField(6, (wg) => writeGraph(wg, a.g!));
  for (const f of a.floats ?? []) w.floatField(7, f);
  for (const i of a.ints ?? []) w.int64Field(8, i);
  for (const s of a.strings ?? []) w.bytesField(9, s);
  for (const t of a.tensors ?? []) w.messageField(10, (wt) => writeTensor(wt, t));
  for (const g of a.graphs ?? []) w.messageField(11, (wg) => writeGraph(wg, g));
  if (a.docString) w.stringField(13, a.docString);
  w.int64Field(20, a.type);
}

/** NodeProto: input 1, output 2, name 3, op_type 4, attribute 5, doc_string 6, domain 7. */
function writeNode(w: ProtoWriter, n: NodeProto): void {
  for (const s of n.input) w.stringField(1, s);
  for (const s of n.output) w.stringField(2, s);
  if (n.name) w.stringField(3, n.name);
  w.stringField(4, n.opType);
  for (const a of n.attribute) w.messageField(5, (wa) => writeAttribute(wa, a));
  if (n.docString) w.stringField(6, n.docString);
  if (n.domain) w.stringField(7, n.domain);
}

/** GraphProto: node 1, name 2, initializer 5, doc_string 10, input 11, output 12, value_info 13. */
function writeGraph(w: ProtoWriter, g: GraphProto): void {
  for (const n of g.node) w.messageField(1, (wn) => writeNode(wn, n));
  w.stringField(2, g.name);
  for (const t of g.initializer) w.messageField(5, (wt) => writeTensor(wt, t));
  if (g.docString) w.stringField(10, g.docString);
  for (const v of g.input) w.messageField(11, (wv) => writeValueInfo(wv, v));
  for (const v of g.output) w.messageField(12, (wv) => writeValueInfo(wv, v));
  for (const v of g.valueInfo) w.messageField(13, (wv) => writeValueInfo(wv, v));
}

/**
 * ModelProto: ir_version 1, producer_name 2, producer_version 3, domain 4, model_version 5,
 * doc_string 6, graph 7, opset_import 8 (OperatorSetIdProto: domain 1, version 2), metadata_props 14
 * (StringStringEntryProto: key 1, value 2).
 */
export function encodeModel(m: ModelProto): Uint8Array {
  const w = new ProtoWriter();
  w.int64Field(1, m.irVersion);
  if (m.producerName) w.stringField(2, m.producerName);
  if (m.producerVersion) w.stringField(3, m.producerVersion);
  if (m.domain) w.stringField(4, m.domain);
  if (m.modelVersion) w.int64Field(5, m.modelVersion);
  if (m.docString) w.stringField(6, m.docString);
  w.messageField(7, (wg) => writeGraph(wg, m.graph));
  for (const o of m.opsetImport) {
    w.messageField(8, (wo) => {
      if (o.domain) wo.stringField(1, o.domain);
      wo.int64Field(2, o.version);
    });
  }
  for (const p of m.metadataProps) w.messageField(14, (wp) => wp.stringField(1, p.key).stringField(2, p.value));
  return w.finish();
}

// ---- decode ----------------------------------------------------------------------------------

const f32 = (r: ProtoReader): number => r.float();
const f64 = (r: ProtoReader): number => r.double();
const i64 = (r: ProtoReader): number => r.int64();
const i64Big = (r: ProtoReader): bigint => r.int64Big();

function readTensor(r: ProtoReader): TensorProto {
  const t: TensorProto = { name: '', dims: [], dataType: 0 };
  const floats: number[] = [];
  const int32s: number[] = [];
  const int64s: bigint[] = [];
  const doubles: number[] = [];
  while (!r.eof()) {
    const { field, wire } = r.tag();
    switch (field) {
      case 1: r.repeated(wire, WIRE_VARINT, i64, t.dims); break;
      case 2: r.expect(wire, WIRE_VARINT, 'data_type'); t.dataType = r.int32(); break;
      case 4: r.repeated(wire, WIRE_I32, f32, floats); break;
      case 5: r.repeated(wire, WIRE_VARINT, (q) => q.int32(), int32s); break;
      case 7: r.repeated(wire, WIRE_VARINT, i64Big, int64s); break;
      case 8: r.expect(wire, WIRE_LEN, 'name'); t.name = r.string(); break;
      case 9: r.expect(wire, WIRE_LEN, 'raw_data'); t.rawData = r.bytes().slice(); break;
      case 10: r.repeated(wire, WIRE_I64, f64, doubles); break;
      case 12: r.expect(wire, WIRE_LEN, 'doc_string'); t.docString = r.string(); break;
      case 14: r.expect(wire, WIRE_VARINT, 'data_location'); if (r.int32() === 1) r.fail(`tensor ${t.name} keeps its data in an external file, which kiln does not read`); break;
      default: r.skip(wire, field);
    }
  }
  if (floats.length) t.floatData = Float32Array.from(floats);
  if (int32s.length) t.int32Data = Int32Array.from(int32s);
  if (int64s.length) t.int64Data = BigInt64Array.from(int64s);
  if (doubles.length) t.doubleData = Float64Array.from(doubles);
  return t;
}

/** A message of string and int64 fields only (Dimension, OperatorSetIdProto, StringStringEntryProto). */
function readFlat(r: ProtoReader): Map<number, string | number> {
  const f = new Map<number, string | number>();
  while (!r.eof()) {
    const { field, wire } = r.tag();
    if (wire === WIRE_LEN && field <= 2) f.set(field, r.string());
    else if (wire === WIRE_VARINT) f.set(field, r.int64());
    else r.skip(wire, field);
  }
  return f;
}

/** TensorShapeProto.Dimension: dim_value 1 | dim_param 2. */
function readDim(r: ProtoReader): Dim {
  const f = readFlat(r);
  const v = f.get(1);
  const p = f.get(2);
  return typeof v === 'number' ? { value: v } : typeof p === 'string' ? { param: p } : {};
}

function readTensorType(r: ProtoReader): TensorType {
  const t: TensorType = { elemType: 0 };
  while (!r.eof()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_VARINT) t.elemType = r.int32();
    else if (field === 2 && wire === WIRE_LEN) {
      const s = r.message('shape');
      t.shape = [];
      while (!s.eof()) {
        const f = s.tag();
        if (f.field === 1 && f.wire === WIRE_LEN) t.shape.push(readDim(s.message('dim')));
        else s.skip(f.wire, f.field);
      }
    } else r.skip(wire, field);
  }
  return t;
}

const TYPE_KINDS: Record<number, TypeProto['kind']> = { 4: 'sequence', 5: 'map', 8: 'sparse_tensor', 9: 'optional' };

function readType(r: ProtoReader): TypeProto {
  const t: TypeProto = { kind: 'unknown' };
  while (!r.eof()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_LEN) {
      t.kind = 'tensor';
      t.tensor = readTensorType(r.message('tensor_type'));
    } else if (field === 6 && wire === WIRE_LEN) t.denotation = r.string();
    else {
      if (TYPE_KINDS[field] && wire === WIRE_LEN) t.kind = TYPE_KINDS[field]!;
      r.skip(wire, field);
    }
  }
  return t;
}

function readValueInfo(r: ProtoReader): ValueInfoProto {
  const v: ValueInfoProto = { name: '' };
  while (!r.eof()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_LEN) v.name = r.string();
    else if (field === 2 && wire === WIRE_LEN) v.type = readType(r.message('type'));
    else if (field === 3 && wire === WIRE_LEN) v.docString = r.string();
    else r.skip(wire, field);
  }
  return v;
}

function readAttribute(r: ProtoReader): AttributeProto {
  const a: AttributeProto = { name: '', type: 0 };
  const push = <T>(key: 'floats' | 'ints' | 'strings' | 'tensors' | 'graphs', v: T): void => {
    ((a[key] ??= []) as T[]).push(v);
  };
  while (!r.eof()) {
    const { field, wire } = r.tag();
    switch (field) {
      case 1: r.expect(wire, WIRE_LEN, 'name'); a.name = r.string(); break;
      case 2: r.expect(wire, WIRE_I32, 'f'); a.f = r.float(); break;
      case 3: r.expect(wire, WIRE_VARINT, 'i'); a.i = r.int64(); break;
      case 4: r.expect(wire, WIRE_LEN, 's'); a.s = r.bytes().slice(); break;
      case 5: r.expect(wire, WIRE_LEN, 't'); a.t = readTensor(r.message('t')); break;
      case 6: r.expect(wire, WIRE_LEN, 'g'); a.g = readGraph(r.message('g')); break;
      case 7: r.repeated(wire, WIRE_I32, f32, (a.floats ??= [])); break;
      case 8: r.repeated(wire, WIRE_VARINT, i64, (a.ints ??= [])); break;
      case 9: r.expect(wire, WIRE_LEN, 'strings'); push('strings', r.bytes().slice()); break;
      case 10: r.expect(wire, WIRE_LEN, 'tensors'); push('tensors', readTensor(r.message('tensors'))); break;
      case 11: r.expect(wire, WIRE_LEN, 'graphs'); push('graphs', readGraph(r.message('graphs'))); break;
      case 13: r.expect(wire, WIRE_LEN, 'doc_string'); a.docString = r.string(); break;
      case 20: r.expect(wire, WIRE_VARINT, 'type'); a.type = r.int32(); break;
      default: r.skip(wire, field);
    }
  }
  return a;
}

function readNode(r: ProtoReader): NodeProto {
  const n: NodeProto = { input: [], output: [], name: '', opType: '', domain: '', attribute: [] };
  while (!r.eof()) {
    const { field, wire } = r.tag();
    switch (field) {
      case 1: r.expect(wire, WIRE_LEN, 'input'); n.input.push(r.string()); break;
      case 2: r.expect(wire, WIRE_LEN, 'output'); n.output.push(r.string()); break;
      case 3: r.expect(wire, WIRE_LEN, 'name'); n.name = r.string(); break;
      case 4: r.expect(wire, WIRE_LEN, 'op_type'); n.opType = r.string(); break;
      case 5: r.expect(wire, WIRE_LEN, 'attribute'); n.attribute.push(readAttribute(r.message('attribute'))); break;
      case 6: r.expect(wire, WIRE_LEN, 'doc_string'); n.docString = r.string(); break;
      case 7: r.expect(wire, WIRE_LEN, 'domain'); n.domain = r.string(); break;
      default: r.skip(wire, field);
    }
  }
  return n;
}

function readGraph(r: ProtoReader): GraphProto {
  const g: GraphProto = { node: [], name: '', initializer: [], input: [], output: [], valueInfo: [] };
  while (!r.eof()) {
    const { field, wire } = r.tag();
    switch (field) {
      case 1: r.expect(wire, WIRE_LEN, 'node'); g.node.push(readNode(r.message(`node[${g.node.length}]`))); break;
      case 2: r.expect(wire, WIRE_LEN, 'name'); g.name = r.string(); break;
      case 5: r.expect(wire, WIRE_LEN, 'initializer'); g.initializer.push(readTensor(r.message(`initializer[${g.initializer.length}]`))); break;
      case 10: r.expect(wire, WIRE_LEN, 'doc_string'); g.docString = r.string(); break;
      case 11: r.expect(wire, WIRE_LEN, 'input'); g.input.push(readValueInfo(r.message('input'))); break;
      case 12: r.expect(wire, WIRE_LEN, 'output'); g.output.push(readValueInfo(r.message('output'))); break;
      case 13: r.expect(wire, WIRE_LEN, 'value_info'); g.valueInfo.push(readValueInfo(r.message('value_info'))); break;
      default: r.skip(wire, field);
    }
  }
  return g;
}

/** Decodes ONNX model bytes; MODEL_FORMAT_INVALID when they are not a ModelProto with a graph. */
export function decodeModel(bytes: Uint8Array): ModelProto {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new KilnError('MODEL_FORMAT_INVALID', 'not a valid ONNX model: the bytes are empty');
  const r = new ProtoReader(bytes, 'ModelProto');
  const m: ModelProto = { irVersion: 0, opsetImport: [], producerName: '', producerVersion: '', domain: '', modelVersion: 0, graph: undefined as unknown as GraphProto, metadataProps: [] };
  while (!r.eof()) {
    const { field, wire } = r.tag();
    switch (field) {
      case 1: r.expect(wire, WIRE_VARINT, 'ir_version'); m.irVersion = r.int64(); break;
      case 2: r.expect(wire, WIRE_LEN, 'producer_name'); m.producerName = r.string(); break;
      case 3: r.expect(wire, WIRE_LEN, 'producer_version'); m.producerVersion = r.string(); break;
      case 4: r.expect(wire, WIRE_LEN, 'domain'); m.domain = r.string(); break;
      case 5: r.expect(wire, WIRE_VARINT, 'model_version'); m.modelVersion = r.int64(); break;
      case 6: r.expect(wire, WIRE_LEN, 'doc_string'); m.docString = r.string(); break;
      case 7: r.expect(wire, WIRE_LEN, 'graph'); m.graph = readGraph(r.message('graph')); break;
      case 8: {
        r.expect(wire, WIRE_LEN, 'opset_import');
        const f = readFlat(r.message('opset_import'));
        m.opsetImport.push({ domain: String(f.get(1) ?? ''), version: Number(f.get(2) ?? 0) });
        break;
      }
      case 14: {
        r.expect(wire, WIRE_LEN, 'metadata_props');
        const f = readFlat(r.message('metadata_props'));
        m.metadataProps.push({ key: String(f.get(1) ?? ''), value: String(f.get(2) ?? '') });
        break;
      }
      default: r.skip(wire, field);
    }
  }
  if (!m.graph) throw new KilnError('MODEL_FORMAT_INVALID', 'not a valid ONNX model: the bytes decode as protobuf but hold no graph (ModelProto field 7); is this an ONNX file?');
  if (m.irVersion <= 0) throw new KilnError('MODEL_FORMAT_INVALID', 'not a valid ONNX model: ir_version (ModelProto field 1) is missing');
  return m;
}
