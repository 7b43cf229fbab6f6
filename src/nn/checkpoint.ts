/**
 * Training checkpoints: everything a killed run needs to resume exactly where its last finished epoch
 * left it (parameter values, optimizer state, the best epoch's parameters, the history), in one file
 * written whole or not at all: a temporary file beside it, fsynced, renamed over it, and the folder
 * fsynced. Layout: "KILNCKPT" + u32 header length + JSON header + float32 blobs (little-endian), each
 * blob named in the header with its offset and length.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { KilnError } from '../core/errors.js';

const MAGIC = 'KILNCKPT';
export const CHECKPOINT_FORMAT = 'kiln.nn-checkpoint@1';

export interface Checkpoint {
  /** Anything JSON: epoch, step, best metric, history, the spec's fingerprint. */
  meta: Record<string, unknown>;
  blobs: Record<string, Float32Array>;
}

export function writeCheckpoint(path: string, ckpt: Checkpoint): void {
  const index: Record<string, { offset: number; length: number }> = {};
  let offset = 0;
  for (const [name, a] of Object.entries(ckpt.blobs)) {
    index[name] = { offset, length: a.length };
    offset += a.length * 4;
  }
  const header = Buffer.from(JSON.stringify({ format: CHECKPOINT_FORMAT, meta: ckpt.meta, blobs: index }));
  const head = Buffer.alloc(12);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(header.length, 8);
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, head);
      writeSync(fd, header);
      for (const a of Object.values(ckpt.blobs)) writeSync(fd, new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice());
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    const dir = openSync(dirname(path), 'r');
    try { fsyncSync(dir); } finally { closeSync(dir); }
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new KilnError('FILE_UNWRITABLE', `cannot write the checkpoint ${path}: ${(e as Error).message}`, { path: [path], cause: e });
  }
}

/** The checkpoint at `path`, or null when there is none. */
export function readCheckpoint(path: string): Checkpoint | null {
  if (!existsSync(path)) return null;
  const buf = readFileSync(path);
  const bad = (why: string): KilnError => new KilnError('MODEL_FORMAT_INVALID', `${path} is not a readable kiln checkpoint: ${why}; delete it to train from the start`, { path: [path] });
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) throw bad('it does not start with KILNCKPT');
  const hlen = buf.readUInt32LE(8);
  if (12 + hlen > buf.length) throw bad('its header is cut short');
  let header: { format?: string; meta?: Record<string, unknown>; blobs?: Record<string, { offset: number; length: number }> };
  try {
    header = JSON.parse(buf.toString('utf8', 12, 12 + hlen));
  } catch {
    throw bad('its header is not JSON');
  }
  if (header.format !== CHECKPOINT_FORMAT) throw bad(`its format is ${String(header.format)}, this kiln reads ${CHECKPOINT_FORMAT}`);
  const base = 12 + hlen;
  const blobs: Record<string, Float32Array> = {};
  for (const [name, { offset, length }] of Object.entries(header.blobs ?? {})) {
    if (base + offset + length * 4 > buf.length) throw bad(`blob ${name} is cut short`);
    const out = new Float32Array(length);
    new Uint8Array(out.buffer).set(buf.subarray(base + offset, base + offset + length * 4));
    blobs[name] = out;
  }
  return { meta: header.meta ?? {}, blobs };
}
