import { afterEach, describe, expect, it } from 'vitest';
import { ColumnarAppender, ENUM_NULL_U8, OfflineStore, enumOf } from '../../src/store/index.js';

let store: OfflineStore | undefined;
afterEach(() => { store?.close(); store = undefined; });

describe('ColumnarAppender', () => {
  it('writes every kind across chunk boundaries, with NULLs, exact int64 and microsecond timestamps', async () => {
    store = await OfflineStore.open(':memory:');
    const w = await ColumnarAppender.create(store.con, 't', {
      id: 'int64', n: 'int32', ts: 'timestamp', d: 'date', x: 'float64', cat: enumOf(['a', 'b', 'c']), s: 'varchar', f: 'bool',
    } as const);
    const c = w.columns;
    const N = 5000;
    for (let r = 0; r < N; r++) {
      const i = w.next();
      c.id[i] = 2 ** 52 + r;
      c.n[i] = r % 7 === 0 ? NaN : -r;
      c.ts[i] = Date.UTC(2024, 0, 1) * 1000 + r;
      c.d[i] = 19723 + r;
      c.x[i] = r % 5 === 0 ? NaN : r / 4;
      c.cat[i] = r % 3 === 0 ? ENUM_NULL_U8 : r % 3;
      c.s[i] = r % 4 === 0 ? null : `s${r}`;
      c.f[i] = r & 1;
    }
    expect(w.close()).toBe(N);
    const [agg] = await store.all<Record<string, number | string>>(`SELECT count(*)::INT AS rows, count(n)::INT AS n, count(x)::INT AS x, count(cat)::INT AS cat,
      count(s)::INT AS s, sum(f::INT)::INT AS f, (max(id) - ${2 ** 52})::INT AS id, min(n)::INT AS minN FROM t`);
    expect(agg).toEqual({ rows: N, n: N - Math.ceil(N / 7), x: N - N / 5, cat: N - Math.ceil(N / 3), s: N - N / 4, f: N / 2, id: N - 1, minN: -(N - 1) });
    const rows = await store.all(`SELECT ts::VARCHAR AS ts, d::VARCHAR AS d, cat::VARCHAR AS cat, s FROM t WHERE id = ${2 ** 52 + 4097}`);
    expect(rows).toEqual([{ ts: '2024-01-01 00:00:00.004097', d: new Date((19723 + 4097) * 86_400_000).toISOString().slice(0, 10), cat: 'c', s: 's4097' }]);
  });
});
