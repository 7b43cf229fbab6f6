/**
 * The segment file the decision log's writer appends to (writer.ts): its handle and offsets, positional
 * writes, zeros written ahead of its records, and closing it with those cut off.
 *
 * A commit is one positional write into space written with zeros ahead of it (`PREALLOC_BYTES` at a
 * time, off the commit path), so syncing it writes data blocks only: no block allocation or size change
 * to journal (fdatasync p99 0.2-0.6 ms against 0.8-0.9 appending, on this repo's machine). `durable`
 * opens segments O_DSYNC: the write returns once it is on disk, one system call a commit. The zeros past
 * the last record are cut off when a segment is closed; readers stop at the first zero byte (JSON text
 * has none), so a crash leaves nothing for them to misread (segments.ts).
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** A segment this writer created (only those are appended to): its name and, for the newest, its handle. */
export interface Own {
  readonly name: string;
  size: number;
  maxId: string;
  fh: FileHandle | null;
  /** Where the next write goes: size plus the writes in flight. */
  end: number;
  /** Bytes written so far, records and zeros ahead (>= size). */
  allocated: number;
  /** Zeros being written at [allocated, allocated + PREALLOC_BYTES), or null. */
  extending: Promise<void> | null;
}

/** Segment flags: durable writes return once their data is on disk (O_DSYNC). */
export const WRITE_DURABLE = constants.O_WRONLY | constants.O_DSYNC;
export const CREATE = constants.O_CREAT | constants.O_EXCL;
/** Zeros written ahead of the current segment's end, a chunk at a time. */
export const PREALLOC_BYTES = 1 << 20;
let zeros: Buffer | null = null;

export async function writeAt(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  for (let off = 0; off < buf.length;) off += (await fh.write(buf, off, buf.length - off, position + off)).bytesWritten;
}

/** Closes a segment this writer appended to, cutting off the zeros written ahead of its last record. */
export async function closeSegment(seg: Own): Promise<void> {
  const fh = seg.fh;
  if (!fh) return;
  seg.fh = null;
  await seg.extending;
  if (seg.allocated > seg.size) await fh.truncate(seg.size).catch(() => undefined);
  seg.allocated = seg.size;
  seg.end = seg.size;
  await fh.close().catch(() => undefined);
}

export async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try { await d.sync(); } finally { await d.close(); }
}

/**
 * Writes the next PREALLOC_BYTES of zeros ahead of a segment once half of the space ready is used, off
 * the commit path, never past `limit` (the segment rolls there); `onFailure` when it cannot (a full disk,
 * say: commits then append as before, and a failed commit is what reports).
 */
export function extendSegment(seg: Own, limit: number, onFailure: () => void): void {
  if (seg.extending || seg.allocated - seg.end >= PREALLOC_BYTES / 2) return;
  const fh = seg.fh!;
  // Never where a write in flight goes: from the end of the last one.
  const at = Math.max(seg.allocated, seg.end);
  const bytes = Math.min(PREALLOC_BYTES, limit - at);
  if (bytes <= 0) return;
  zeros ??= Buffer.alloc(PREALLOC_BYTES);
  seg.extending = writeAt(fh, zeros.subarray(0, bytes), at).then(
    () => { seg.allocated = at + bytes; },
    () => { onFailure(); return fh.truncate(Math.max(seg.end, at)).catch(() => undefined); },
  ).finally(() => { seg.extending = null; });
}
