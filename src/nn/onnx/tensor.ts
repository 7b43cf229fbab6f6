/**
 * Tensor payloads both ways: `tensorProto` stores a typed array as little-endian raw_data (as
 * torch.onnx.export does); `tensorData` reads a TensorProto's values from raw_data or from its typed
 * list (float_data, int32_data, int64_data, double_data), checking the count against the dims.
 * (Typed arrays over raw bytes assume a little-endian host, as every platform Node supports is.)
 */
import { KilnError } from '../../core/errors.js';
import { DataType, type TensorProto } from './model.js';

/** A TensorProto holding `data` as little-endian raw_data. */
export function tensorProto(name: string, data: Float32Array | Int32Array | BigInt64Array, dims: readonly number[]): TensorProto {
  const n = dims.reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new KilnError('INVALID_ARGUMENT', `tensor ${name}: ${data.length} values for dims [${dims.join(', ')}] (${n} expected)`);
  const dataType = data instanceof Float32Array ? DataType.FLOAT : data instanceof Int32Array ? DataType.INT32 : DataType.INT64;
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  return { name, dims: [...dims], dataType, rawData: raw };
}

/** A tensor's values from raw_data (little-endian) or its typed list, by data type. */
export function tensorData(t: TensorProto): Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array {
  const n = t.dims.reduce((a, b) => a * b, 1);
  const raw = t.rawData;
  const fail = (why: string): never => {
    throw new KilnError('MODEL_FORMAT_INVALID', `not a valid ONNX model: tensor ${t.name || '(unnamed)'} ${why}`);
  };
  const fromRaw = <A>(size: number, make: (buf: ArrayBuffer) => A): A => {
    if (raw!.length !== n * size) fail(`has ${raw!.length} bytes of raw_data for ${n} values of ${size} bytes`);
    return make(raw!.slice().buffer);
  };
  let out: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
  switch (t.dataType) {
    case DataType.FLOAT: out = raw ? fromRaw(4, (b) => new Float32Array(b)) : t.floatData ?? new Float32Array(0); break;
    case DataType.DOUBLE: out = raw ? fromRaw(8, (b) => new Float64Array(b)) : t.doubleData ?? new Float64Array(0); break;
    case DataType.INT32: out = raw ? fromRaw(4, (b) => new Int32Array(b)) : t.int32Data ?? new Int32Array(0); break;
    case DataType.INT64: out = raw ? fromRaw(8, (b) => new BigInt64Array(b)) : t.int64Data ?? new BigInt64Array(0); break;
    case DataType.BOOL: case DataType.UINT8: out = raw ? fromRaw(1, (b) => new Uint8Array(b)) : Uint8Array.from(t.int32Data ?? []); break;
    default: return fail(`has data type ${t.dataType}, which kiln does not read`);
  }
  if (out.length !== n) fail(`has ${out.length} values for dims [${t.dims.join(', ')}]`);
  return out;
}
