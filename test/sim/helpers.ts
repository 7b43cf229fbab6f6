import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OfflineStore } from '../../src/store/offline.js';

/** A fresh offline store in its own temp dir; `cleanup` closes it and removes the dir. */
export async function tempStore(name = 'sim'): Promise<{ store: OfflineStore; dir: string; cleanup: () => void }> {
  const dir = mkdtempSync(path.join(tmpdir(), `kiln-${name}-`));
  const store = await OfflineStore.open(path.join(dir, 'x.duckdb'));
  return {
    store,
    dir,
    cleanup: () => {
      try { store.close(); } catch { /* already closed */ }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function scalar<T = number>(store: OfflineStore, sql: string): Promise<T> {
  const rows = await store.all<Record<string, unknown>>(sql);
  const row = rows[0];
  if (!row) throw new Error(`no rows: ${sql}`);
  return Object.values(row)[0] as T;
}
