/**
 * Two `kiln serve` replicas sharing the PostgreSQL registry and decision log and the Redis online store:
 * an alias move reaches both (NOTIFY, the registry as the truth), one replica is restarted while load
 * drives both, the surviving one fails no request, and every acknowledged decision of either is in the
 * one log. Also: a notification reaches a listener of the schema, and only of it.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenRegistry, MetaStore } from '../../src/store/index.js';
import { ModelRegistry } from '../../src/registry/index.js';
import { tempDir } from '../helpers.js';
import { dropSchema, META_BACKENDS, TEST_DATABASE_URL, testSchema } from '../meta-backends.js';
import { REDIS_URL, redisMode } from '../online/helpers.js';
import { buildServeWorld, cli, getJson, Load, loggedIds, startServe, type Serve, type ServeWorld } from './serve-process.js';

const pg = META_BACKENDS.includes('postgres');
const redis = pg ? (await redisMode()) === 'run' : false;

describe.skipIf(!pg)('registry notifications', () => {
  it('tell a listener of the schema at once when an alias moves elsewhere, and not a listener of another schema', async () => {
    const schema = testSchema();
    const other = testSchema();
    const { dir, cleanup } = tempDir();
    const meta = MetaStore.open(`${dir}/meta.sqlite`, { url: TEST_DATABASE_URL, schema });
    const seen: string[] = [];
    const elsewhere: string[] = [];
    const a = listenRegistry({ url: TEST_DATABASE_URL, schema }, (t) => seen.push(t));
    const b = listenRegistry({ url: TEST_DATABASE_URL, schema: other }, (t) => elsewhere.push(t));
    try {
      const until = async (cond: () => boolean): Promise<void> => { for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10)); };
      await until(() => seen.includes('reconnect') && elsewhere.includes('reconnect'));
      const reg = new ModelRegistry(meta.db);
      reg.registerVersion('credit', { signature: { features: [{ name: 'x', type: 'DOUBLE' }] } });
      reg.setAlias('credit', 'champion', 1, { reason: 'first' });
      await until(() => seen.filter((t) => t === 'audit_log').length >= 2);
      expect(seen.filter((t) => t === 'audit_log')).toHaveLength(2);
      expect(elsewhere).toEqual(['reconnect']);
    } finally {
      await a.close();
      await b.close();
      meta.close();
      cleanup();
      dropSchema(schema);
    }
  });
});

describe.skipIf(!pg || !redis)('two kiln serve replicas on PostgreSQL and Redis', () => {
  const schema = testSchema();
  const prefix = `kiln:replicas-${randomBytes(4).toString('hex')}:`;
  let world: ServeWorld;
  const running = new Set<Serve>();
  const serve = async (): Promise<Serve> => { const s = await startServe(world); running.add(s); void s.exited.then(() => running.delete(s)); return s; };
  const version = async (s: Serve): Promise<number | null> => (await getJson(`${s.url}/readyz`)).body.models?.[0]?.version ?? null;
  const until = async (what: string, cond: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> => {
    const end = Date.now() + ms;
    while (!(await cond())) { if (Date.now() > end) throw new Error(`timed out waiting for ${what}`); await new Promise((r) => setTimeout(r, 20)); }
  };

  beforeAll(async () => {
    world = await buildServeWorld(`metadata: { url: ${JSON.stringify(TEST_DATABASE_URL)}, schema: '${schema}' }, online: { backend: 'redis', redisUrl: ${JSON.stringify(REDIS_URL)}, keyPrefix: '${prefix}' }, `);
  }, 180_000);
  afterAll(async () => {
    for (const s of running) { s.child.kill('SIGKILL'); await s.exited; }
    world?.cleanup();
    dropSchema(schema);
    const r = new Redis(REDIS_URL);
    try {
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await r.del(...keys);
      } while (cursor !== '0');
    } finally { r.disconnect(); }
  });

  it('both follow an alias move; one restarts under load: no failed request on the other, no acknowledged decision lost', async () => {
    const a = await serve();
    let b = await serve();
    await cli(world, 'models', 'alias', 'set', 'credit@1', 'champion', '--reason', 'first champion');
    await until('both replicas on version 1', async () => (await version(a)) === 1 && (await version(b)) === 1);
    const loadA = new Load(a.url, world.entities, { concurrency: 4 });
    let loadB = new Load(b.url, world.entities, { concurrency: 4 });
    const loadsB = [loadB];
    try {
      await loadA.until((o) => o.length >= 100);
      await cli(world, 'models', 'alias', 'set', 'credit@2', 'champion', '--reason', 'better on the holdout');
      await loadA.until((o) => o.some((x) => x.version === 2));
      await loadB.until((o) => o.some((x) => x.version === 2));
      // Restart b while a serves: SIGTERM drains and flushes; a new b joins and serves the current version.
      loadB.halt();
      b.child.kill('SIGTERM');
      expect(await b.exited).toBe(0);
      const during = loadA.outcomes.length;
      b = await serve();
      expect(await version(b)).toBe(2);
      loadB = new Load(b.url, world.entities, { concurrency: 4 });
      loadsB.push(loadB);
      await loadB.until((o) => o.length >= 100);
      await loadA.until((o) => o.length >= during + 200);
    } finally {
      await loadA.stop();
      for (const l of loadsB) await l.stop();
    }
    expect(loadA.outcomes.filter((o) => o.status !== 200)).toEqual([]);
    const okB = loadsB.flatMap((l) => l.outcomes).filter((o) => o.status === 200);
    expect(okB.length).toBeGreaterThan(100);
    // Each replica labels its series; both wrote into the one log, every acknowledged decision there.
    const [ma, mb] = await Promise.all([fetch(`${a.url}/metrics`).then((r) => r.text()), fetch(`${b.url}/metrics`).then((r) => r.text())]);
    const label = (t: string): string => /kiln_http_requests_total\{[^}]*replica="([^"]+)"/.exec(t)?.[1] ?? '';
    expect(label(ma)).toMatch(/:\d+$/);
    expect(label(mb)).not.toBe(label(ma));
    const ids = await loggedIds(world);
    const acked = [...loadA.outcomes, ...okB].filter((o) => o.status === 200).flatMap((o) => o.ids);
    expect(acked.filter((id) => !ids.has(id))).toEqual([]);
    expect(new Set(acked).size).toBe(acked.length);
  }, 120_000);
});
