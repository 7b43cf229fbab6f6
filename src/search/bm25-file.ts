/**
 * The file of a BM25 index (little-endian):
 *   "KILNBM25", u32 length of the header, the header (UTF-8 JSON), zero padding to a multiple of 8,
 *   then the arrays the header lists, in its order, each padded to a multiple of 8 bytes.
 * Header: { format: 'kiln.bm25@1', options, ids, terms, stored, nDocs, arrays: [{ name, type, length }] }.
 * Arrays: doc postings (termPtr, unit, tf, len) and, with passages, passage postings and the passage
 * table (doc, field, start, end). Written to a temporary file and renamed, so a reader never sees half
 * a file; a reader rejects a newer format with MODEL_FORMAT_TOO_NEW.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { KilnError } from '../core/errors.js';
import type { Bm25Parts } from './bm25-build.js';
import { resolveBm25Options, type Bm25Options, type SearchId } from './options.js';
import type { Postings } from './postings.js';

export const BM25_FORMAT = 'kiln.bm25';
export const BM25_VERSION = 1;
const MAGIC = 'KILNBM25';

type Arr = Int32Array | Uint16Array | Uint8Array;
const TYPES = { i32: Int32Array, u16: Uint16Array, u8: Uint8Array } as const;
type TypeName = keyof typeof TYPES;

interface Header {
  format: string;
  options: Bm25Options;
  ids: SearchId[];
  terms: string[];
  stored: Record<string, string[]>;
  nDocs: number;
  nPassages: number;
  arrays: { name: string; type: TypeName; length: number }[];
}

const typeName = (a: Arr): TypeName => (a instanceof Int32Array ? 'i32' : a instanceof Uint16Array ? 'u16' : 'u8');
const pad8 = (n: number): number => (8 - (n % 8)) % 8;

function postingArrays(prefix: string, p: Postings): [string, Arr][] {
  return [[`${prefix}.termPtr`, p.termPtr], [`${prefix}.unit`, p.unit], [`${prefix}.tf`, p.tf], [`${prefix}.len`, p.len]];
}

export function writeBm25(path: string, parts: Bm25Parts): void {
  const arrays: [string, Arr][] = postingArrays('docs', parts.docs);
  const P = parts.passages;
  if (P !== null) {
    arrays.push(...postingArrays('passages', P.postings), ['passages.doc', P.doc], ['passages.field', P.field], ['passages.start', P.start], ['passages.end', P.end]);
  }
  const header: Header = {
    format: `${BM25_FORMAT}@${BM25_VERSION}`,
    options: parts.options,
    ids: parts.ids,
    terms: parts.terms,
    stored: parts.stored,
    nDocs: parts.ids.length,
    nPassages: P?.doc.length ?? 0,
    arrays: arrays.map(([name, a]) => ({ name, type: typeName(a), length: a.length })),
  };
  const json = Buffer.from(JSON.stringify(header));
  const head = 12 + json.length;
  let size = head + pad8(head);
  for (const [, a] of arrays) size += a.byteLength + pad8(a.byteLength);
  const buf = Buffer.alloc(size);
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt32LE(json.length, 8);
  json.copy(buf, 12);
  let o = head + pad8(head);
  for (const [, a] of arrays) {
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(buf, o);
    o += a.byteLength + pad8(a.byteLength);
  }
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, buf);
    renameSync(tmp, path);
  } catch (e) {
    throw new KilnError('FILE_UNWRITABLE', `BM25 index: cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}

export function readBm25(path: string): Bm25Parts {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new KilnError('FILE_NOT_FOUND', `BM25 index: cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  const bad = (msg: string): never => {
    throw new KilnError('FILE_INVALID', `BM25 index ${path}: ${msg}`);
  };
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) bad('not a kiln BM25 index (no KILNBM25 magic)');
  const len = buf.readUInt32LE(8);
  if (12 + len > buf.length) bad('truncated header');
  let h: Header;
  try {
    h = JSON.parse(buf.toString('utf8', 12, 12 + len)) as Header;
  } catch {
    return bad('the header is not JSON');
  }
  const m = /^kiln\.bm25@(\d+)$/.exec(String(h.format));
  if (!m) bad(`format is '${String(h.format)}', expected '${BM25_FORMAT}@${BM25_VERSION}'`);
  if (Number(m![1]) > BM25_VERSION) {
    throw new KilnError('MODEL_FORMAT_TOO_NEW', `BM25 index ${path} is ${h.format}, newer than this kiln (reads @${BM25_VERSION}); upgrade kiln`);
  }
  if (!Array.isArray(h.ids) || !Array.isArray(h.terms) || !Array.isArray(h.arrays) || h.ids.length !== h.nDocs) bad('the header lacks ids, terms or arrays');
  const arrays = new Map<string, Arr>();
  let o = 12 + len + pad8(12 + len);
  for (const a of h.arrays) {
    const T = TYPES[a.type];
    if (T === undefined || !Number.isInteger(a.length) || a.length < 0) bad(`array ${a.name} has an unknown type or length`);
    const bytes = a.length * T.BYTES_PER_ELEMENT;
    if (o + bytes > buf.length) bad(`truncated at array ${a.name}`);
    const copy = new Uint8Array(bytes);
    copy.set(buf.subarray(o, o + bytes));
    arrays.set(a.name, new T(copy.buffer));
    o += bytes + pad8(bytes);
  }
  const get = <T extends Arr>(name: string, kind: new (n: number) => T): T => {
    const a = arrays.get(name);
    if (!(a instanceof kind)) return bad(`array ${name} is missing or of the wrong type`);
    return a;
  };
  const options = resolveBm25Options(h.options);
  const F = options.fields.length;
  const postings = (prefix: string, nUnits: number, nFields: number): Postings => {
    const p: Postings = {
      nUnits, nFields, termPtr: get(`${prefix}.termPtr`, Int32Array), unit: get(`${prefix}.unit`, Int32Array),
      tf: get(`${prefix}.tf`, Uint16Array), len: get(`${prefix}.len`, Int32Array),
    };
    if (p.termPtr.length !== h.terms.length + 1 || p.len.length !== nUnits * nFields || p.tf.length !== p.unit.length * nFields || p.termPtr[h.terms.length] !== p.unit.length) {
      bad(`${prefix} postings do not fit ${h.terms.length} terms and ${nUnits} units`);
    }
    return p;
  };
  const docs = postings('docs', h.nDocs, F);
  const passages = options.passages === null ? null : {
    postings: postings('passages', h.nPassages, 1),
    doc: get('passages.doc', Int32Array),
    field: get('passages.field', Uint8Array),
    start: get('passages.start', Int32Array),
    end: get('passages.end', Int32Array),
  };
  return { options, ids: h.ids, terms: h.terms, docs, passages, stored: h.stored ?? {} };
}
