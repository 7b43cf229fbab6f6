import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTrainingSet } from '../../src/features/training/index.js';
import { materialize } from '../../src/online/index.js';
import { Project } from '../../src/store/index.js';
import { num } from '../../src/ui/web/html.js';
import { createUiServer } from '../../src/ui/web/server.js';
import { buildRetrainWorld } from '../loop/retrain-world.js';

/** The text of a values-table cell: the column's row, `which` = 1 offline, 2 online, 3 agreement. */
function cell(body: string, column: string, which: number): string | null {
  const table = /<table id="values">([\s\S]*?)<\/table>/.exec(body)?.[1];
  if (!table) return null;
  for (const tr of table.split('<tr>').slice(1)) {
    const cells = [...tr.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) => m[1]!);
    if (cells[0] === column) return cells[which] ?? null;
  }
  return null;
}

describe('web UI: features', () => {
  let dir: string;
  let project: Project;
  let app: FastifyInstance;
  const AS_OF = '2024-06-01T00:00:00.000Z';
  let borrower: string;
  let expected: Record<string, unknown>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-ui-features-'));
    await buildRetrainWorld(dir);
    project = await Project.open({ project: dir });
    // A borrower with card spending in the 30 days before AS_OF, and what the training-set builder gives
    // for every borrower as of that time (another spine than the page's one-row file).
    const out = join(dir, 'all.parquet');
    await buildTrainingSet(project, { spine: { entities: 'all', asOf: AS_OF }, features: ['spend_30d', 'txn_count_30d', 'employment_type'], out });
    const [row] = await project.offline.all<Record<string, unknown>>(`SELECT * FROM read_parquet('${out}') WHERE spend_30d > 0 ORDER BY borrower_id LIMIT 1`);
    expected = row!;
    borrower = String(row!.borrower_id);
    app = await createUiServer({ project });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    project?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists every definition with what it computes, its sets, the models that use it, and freshness', async () => {
    const r = await app.inject({ url: '/features' });
    expect(r.statusCode).toBe(200);
    const b = r.body;
    expect(b).toContain('<h1>Features</h1>');
    expect(b).toContain('href="/features/spend_30d">spend_30d</a>');
    expect(b).toContain('sum(amount) over 30d');
    expect(b).toContain('Total spend over 30 days');
    expect(b).toContain('href="/features/credit_v1">credit_v1</a>');
    // credit selects credit_v1 in the config, and version 1 was trained on it.
    const row = /<tr><td><a href="\/features\/spend_30d">[\s\S]*?<\/tr>/.exec(b)![0];
    expect(row).toContain('href="/models/credit">credit</a>');
    expect(row).toContain('credit@1');
    // Freshness: the latest transaction in the offline store; no online store yet.
    const [latest] = await project.offline.all<{ t: string }>('SELECT max(CAST(ts AS TIMESTAMP)) AS t FROM transactions');
    expect(b).toContain(`<time datetime="${latest!.t}">`);
    expect(b).toContain('No online store.');
  });

  it('filters by name', async () => {
    const r = await app.inject({ url: '/features?q=SPEND_3' });
    expect(r.statusCode).toBe(200);
    expect(r.body).toContain('href="/features/spend_30d"');
    expect(r.body).toContain('href="/features/spend_365d"');
    expect(r.body).not.toContain('href="/features/txn_count_7d"');
    expect(r.body).toContain('href="/features/spend_30d_by_category"');
    expect(r.body).toMatch(/3 of \d+ features and 0 of 2 feature sets match/);
  });

  it('shows a definition and its value as of a time: the training-set builder\'s value', async () => {
    const r = await app.inject({ url: `/features/spend_30d?key=${borrower}&asOf=${encodeURIComponent(AS_OF)}` });
    expect(r.statusCode).toBe(200);
    expect(r.body).toContain('<h1>spend_30d</h1>');
    expect(r.body).toContain('sum(amount) over 30d');
    expect(r.body).toContain('<label>borrower_id <input name="key"');
    expect(cell(r.body, 'spend_30d', 1)).toBe(num(expected.spend_30d as number, 6));
    expect(r.body).toContain('This project has no online store yet');
    expect(cell(r.body, 'spend_30d', 2)).toBeNull();
    // Derived features that read it, and the sets that hold it, each on their own line.
    expect(r.body).toMatch(/<dt>used by features<\/dt><dd>[^]*?href="\/features\/spend_to_income">spend_to_income<\/a>[^]*?<\/dd>/);
    expect(/<dt>used by features<\/dt><dd>([^]*?)<\/dd>/.exec(r.body)![1]).not.toContain('credit_v1');
    expect(r.body).toContain('<dt>feature sets</dt><dd><a href="/features/credit_v1">credit_v1</a></dd>');
    // A feature set: every column, each equal to the builder's.
    const s = await app.inject({ url: `/features/credit_v1?key=${borrower}&asOf=${encodeURIComponent(AS_OF)}` });
    expect(s.statusCode).toBe(200);
    expect(cell(s.body, 'txn_count_30d', 1)).toBe(num(expected.txn_count_30d as number, 6));
    expect(cell(s.body, 'employment_type', 1)).toBe(String(expected.employment_type));
  });

  it('links inside the prefix it is mounted at', async () => {
    const ui = await createUiServer({ project, base: '/ui' });
    try {
      const r = await ui.inject({ url: '/ui/features?q=spend_30d' });
      expect(r.body).toContain('href="/ui/features/spend_30d"');
      const d = await ui.inject({ url: '/ui/features/spend_30d' });
      expect(d.body).toContain('action="/ui/features/spend_30d"');
    } finally {
      await ui.close();
    }
  });

  it('says clearly when the time or the entity is wrong, and 404s an unknown feature', async () => {
    const bad = await app.inject({ url: `/features/spend_30d?key=${borrower}&asOf=${encodeURIComponent('2024-06-01T00:00:00+02:00')}` });
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toContain('role="alert"');
    expect(bad.body).toContain('kiln works in UTC');
    const nonsense = await app.inject({ url: `/features/spend_30d?key=${borrower}&asOf=yesterday` });
    expect(nonsense.statusCode).toBe(422);
    expect(nonsense.body).toContain('is not a time');
    const unknown = await app.inject({ url: '/features/spend_30d?key=99999999&asOf=2024-06-01' });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.body).toContain('no borrower borrower_id = 99999999');
    const text = await app.inject({ url: '/features/spend_30d?key=abc&asOf=2024-06-01' });
    expect(text.statusCode).toBe(422);
    expect(text.body).toContain('&#39;abc&#39; is not a borrower_id: the borrower key is');
    const missing = await app.inject({ url: '/features/spend_31d' });
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toContain('did you mean &#39;spend_30d&#39;?');
  });

  it('with an online store: its materialisation per source, and the online value beside the offline one', async () => {
    await materialize(project, { features: 'credit_v1', asOf: AS_OF, quiet: true });
    const list = await app.inject({ url: '/features' });
    expect(list.body).toContain('materialised as of <time datetime="2024-06-01T00:00:00.000Z">');
    const fresh = /<table id="freshness">([\s\S]*?)<\/table>/.exec(list.body)![1]!;
    expect(fresh).toMatch(/<td>transactions<\/td><td>event<\/td><td>transactions<\/td><td><time[^>]*>[^<]*<\/time><\/td><td>[\d,]+ events, [\d,]+ entities; latest <time/);
    const r = await app.inject({ url: `/features/credit_v1?key=${borrower}&asOf=${encodeURIComponent(AS_OF)}` });
    expect(r.statusCode).toBe(200);
    expect(cell(r.body, 'spend_30d', 1)).toBe(num(expected.spend_30d as number, 6));
    expect(cell(r.body, 'spend_30d', 2)).toBe(num(expected.spend_30d as number, 6));
    expect(cell(r.body, 'spend_30d', 3)).toContain('same');
    expect(r.body).not.toContain('>differs<');
  }, 60_000);

  it('computes values with the offline store opened read-only (temp tables and a temp Parquet file only)', async () => {
    await app.close();
    project.close();
    project = await Project.open({ project: dir, offline: 'read' });
    app = await createUiServer({ project });
    const r = await app.inject({ url: `/features/spend_30d?key=${borrower}&asOf=${encodeURIComponent(AS_OF)}` });
    expect(r.statusCode).toBe(200);
    expect(cell(r.body, 'spend_30d', 1)).toBe(num(expected.spend_30d as number, 6));
    expect((await app.inject({ url: '/features' })).statusCode).toBe(200);
  });
});
