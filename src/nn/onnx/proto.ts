/**
 * Protocol Buffers wire format, the part ONNX files use, with no dependency.
 *
 * A message is a sequence of fields, each a tag varint `(field << 3) | wire` and a payload: wire 0 a
 * varint (int32/int64/enum/bool; negative int64 takes ten bytes, two's complement), 1 eight bytes
 * little-endian (fixed64/double), 2 a varint length then that many bytes (strings, bytes, nested
 * messages, packed repeated scalars), 5 four bytes (fixed32/float). Wire 3/4 (proto2 groups) are only
 * skipped. A repeated scalar may arrive packed (one wire-2 field) or one field per element, and a
 * reader must take both. Unknown fields are skipped, so newer files still decode.
 *
 * `ProtoWriter` keeps a list of chunks: a nested message is written by its own writer and appended
 * by reference after its length, so large initializers are copied once, into the final buffer.
 * Errors are KilnError MODEL_FORMAT_INVALID naming the message being read and the byte offset.
 */
import { KilnError } from '../../core/errors.js';

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

const TWO32 = 4294967296;
const utf8In = new TextDecoder('utf-8', { fatal: true });
const utf8Out = new TextEncoder();

export class ProtoReader {
  pos: number;
  private readonly view: DataView;

  /** `what` names the message for errors (e.g. `ModelProto.graph`). */
  constructor(readonly buf: Uint8Array, readonly what: string, start = 0, readonly end = buf.length) {
    this.pos = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(msg: string): never {
    throw new KilnError('MODEL_FORMAT_INVALID', `not a valid ONNX model: ${msg} at byte ${this.pos} (in ${this.what}); re-export the model or check the file is complete`);
  }

  eof(): boolean {
    return this.pos >= this.end;
  }

  /** The next field's number and wire type. */
  tag(): { field: number; wire: number } {
    const t = this.varint();
    const field = Math.floor(t / 8);
    const wire = t % 8;
    if (field === 0) this.fail('field number 0');
    if (wire === 6 || wire === 7) this.fail(`unknown wire type ${wire}`);
    return { field, wire };
  }

  /** A varint as an unsigned number (exact below 2^53; larger values lose low bits). */
  varint(): number {
    let lo = 0;
    let shift = 0;
    const buf = this.buf;
    while (shift < 28) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = buf[this.pos++]!;
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) return lo >>> 0;
      shift += 7;
    }
    let v = lo >>> 0;
    let mul = 268435456;
    for (let i = 4; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = buf[this.pos++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** A varint as a signed 64-bit integer, exactly. */
  int64Big(): bigint {
    let v = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asIntN(64, v);
      shift += 7n;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** A signed int64 varint as a number (exact when |v| < 2^53, the range of dims, versions and attributes). */
  int64(): number {
    const start = this.pos;
    let n = 0;
    while (n < 10 && start + n < this.end && this.buf[start + n]! >= 0x80) n++;
    if (n < 7) return this.varint();
    return Number(this.int64Big());
  }

  /** int32 fields are sign-extended to 64 bits on the wire. */
  int32(): number {
    return this.int64() | 0;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) this.fail(`field needs ${n} bytes, only ${this.end - this.pos} left`);
  }

  float(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  double(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A length-delimited payload, as a view into the buffer (no copy). */
  bytes(): Uint8Array {
    const n = this.varint();
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  string(): string {
    const b = this.bytes();
    try {
      return utf8In.decode(b);
    } catch {
      return this.fail('string field is not UTF-8');
    }
  }

  /** A reader over a nested message, which this reader steps past. */
  message(what: string): ProtoReader {
    const n = this.varint();
    this.need(n);
    const r = new ProtoReader(this.buf, `${this.what}.${what}`, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }

  /** Reads a repeated scalar field whether it came packed (wire 2) or as one element (its own wire type). */
  repeated<T>(wire: number, elemWire: number, one: (r: ProtoReader) => T, out: T[]): void {
    if (wire === WIRE_LEN) {
      const r = this.message('packed');
      while (!r.eof()) out.push(one(r));
    } else if (wire === elemWire) {
      out.push(one(this));
    } else {
      this.fail(`wire type ${wire} where ${elemWire} or a packed list was expected`);
    }
  }

  /** Steps over a field's payload. */
  skip(wire: number, field = 0): void {
    switch (wire) {
      case WIRE_VARINT: this.varint(); break;
      case WIRE_I64: this.need(8); this.pos += 8; break;
      case WIRE_LEN: this.bytes(); break;
      case WIRE_I32: this.need(4); this.pos += 4; break;
      case 3: {
        for (;;) {
          if (this.eof()) this.fail(`group ${field} not closed`);
          const t = this.tag();
          if (t.wire === 4) {
            if (t.field !== field) this.fail(`group ${field} closed by ${t.field}`);
            return;
          }
          this.skip(t.wire, t.field);
        }
      }
      default: this.fail(`unexpected wire type ${wire}`);
    }
  }

  /** Checks a field has the wire type its declaration implies. */
  expect(wire: number, want: number, name: string): void {
    if (wire !== want) this.fail(`field ${name} has wire type ${wire}, expected ${want}`);
  }
}

export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private cur = new Uint8Array(256);
  private n = 0;
  private total = 0;

  /** Bytes written so far. */
  get length(): number {
    return this.total;
  }

  private room(k: number): void {
    if (this.n + k <= this.cur.length) return;
    this.flush();
    this.cur = new Uint8Array(Math.max(256, k, this.cur.length * 2));
  }

  private flush(): void {
    if (this.n === 0) return;
    this.chunks.push(this.cur.subarray(0, this.n));
    this.cur = this.cur.subarray(this.n);
    this.n = 0;
  }

  /** An unsigned varint; a negative number or bigint is written as 64-bit two's complement (ten bytes). */
  varint(v: number | bigint): this {
    this.room(10);
    const before = this.n;
    if (typeof v === 'number' && v >= 0 && v < TWO32 && Number.isInteger(v)) {
      let x = v;
      while (x >= 0x80) {
        this.cur[this.n++] = (x & 0x7f) | 0x80;
        x = Math.floor(x / 128);
      }
      this.cur[this.n++] = x;
    } else {
      if (typeof v === 'number' && !Number.isSafeInteger(v)) {
        throw new KilnError('INVALID_ARGUMENT', `cannot write ${v} as a protobuf integer (not a safe integer)`);
      }
      let x = BigInt.asUintN(64, BigInt(v));
      while (x >= 0x80n) {
        this.cur[this.n++] = Number(x & 0x7fn) | 0x80;
        x >>= 7n;
      }
      this.cur[this.n++] = Number(x);
    }
    this.total += this.n - before;
    return this;
  }

  tag(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }

  /** Appends bytes; large arrays are kept by reference (do not change them before `finish`). */
  raw(b: Uint8Array): this {
    if (b.length <= 64) {
      this.room(b.length);
      this.cur.set(b, this.n);
      this.n += b.length;
    } else {
      this.flush();
      this.chunks.push(b);
    }
    this.total += b.length;
    return this;
  }

  int64Field(field: number, v: number | bigint): this {
    return this.tag(field, WIRE_VARINT).varint(v);
  }

  floatField(field: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    return this.tag(field, WIRE_I32).raw(b);
  }

  bytesField(field: number, b: Uint8Array): this {
    return this.tag(field, WIRE_LEN).varint(b.length).raw(b);
  }

  stringField(field: number, s: string): this {
    return this.bytesField(field, utf8Out.encode(s));
  }

  /** A nested message, written by `body` into its own writer and appended without copying its chunks. */
  messageField(field: number, body: (w: ProtoWriter) => void): this {
    const w = new ProtoWriter();
    body(w);
    this.tag(field, WIRE_LEN).varint(w.length);
    this.flush();
    for (const c of w.parts()) this.chunks.push(c);
    this.total += w.length;
    return this;
  }

  /** Packed repeated float (wire 2, four bytes each, little-endian). */
  packedFloats(field: number, v: ArrayLike<number>): this {
    const b = new Uint8Array(v.length * 4);
    const dv = new DataView(b.buffer);
    for (let i = 0; i < v.length; i++) dv.setFloat32(i * 4, v[i]!, true);
    return this.bytesField(field, b);
  }

  /** Packed repeated double. */
  packedDoubles(field: number, v: ArrayLike<number>): this {
    const b = new Uint8Array(v.length * 8);
    const dv = new DataView(b.buffer);
    for (let i = 0; i < v.length; i++) dv.setFloat64(i * 8, v[i]!, true);
    return this.bytesField(field, b);
  }

  /** Packed repeated varints (int32, int64, uint64). */
  packedVarints(field: number, v: ArrayLike<number | bigint>): this {
    const w = new ProtoWriter();
    for (let i = 0; i < v.length; i++) w.varint(v[i]!);
    return this.bytesField(field, w.finish());
  }

  /** The chunks written so far, in order. */
  parts(): Uint8Array[] {
    this.flush();
    return this.chunks;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.total);
    let o = 0;
    for (const c of this.parts()) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}
