/**
 * Partitioning by entity: a stable hash of the key's text (FNV-1a, 32 bits, over its UTF-8 bytes) modulo
 * the number of partitions. The same key lands in the same partition on every machine and every run.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a (32-bit) of the UTF-8 bytes of `text`, as an unsigned integer. */
export function fnv1a(text: string): number {
  let h = FNV_OFFSET;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, FNV_PRIME) >>> 0;
  }
  return h >>> 0;
}

/** The partition (0 .. partitions-1) of an entity key, by the text DuckDB gives it (CAST(key AS VARCHAR)). */
export function partitionOf(key: string, partitions: number): number {
  return fnv1a(key) % partitions;
}

/** A part file's name: part-00003.parquet. */
export const partFileName = (partition: number): string => `part-${String(partition).padStart(5, '0')}.parquet`;
