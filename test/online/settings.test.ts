/** Where `openOnlineStore` takes its settings from: option > environment > the config's `online` section > default. */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { DEFAULT_REDIS_URL, RedisOnlineStore, onlineSettings, openOnlineStore, type OnlineFeatureStore } from '../../src/online/index.js';
import { tempProject } from '../helpers.js';
import { CONTRACT_DEFS } from './contract.js';
import { DAY, HOUR, REDIS_URL, T0, redisMode } from './helpers.js';

type Ctx = Awaited<ReturnType<typeof tempProject>>;
const projects: Ctx[] = [];

/** A project whose config has this `online` section (written as TypeScript source). */
async function projectWith(online?: string): Promise<Ctx> {
  const ctx = await tempProject(`export default { name: 'settings'${online ? `, online: ${online}` : ''} };\n`);
  projects.push(ctx);
  return ctx;
}

beforeEach(() => {
  // The precedence under test must not depend on the shell the tests run in.
  vi.stubEnv('KILN_ONLINE_BACKEND', '');
  vi.stubEnv('KILN_REDIS_URL', '');
});
afterEach(() => {
  vi.unstubAllEnvs();
  for (const p of projects.splice(0)) p.cleanup();
});

describe('online settings precedence', () => {
  const CONFIG = `{ backend: 'redis', redisUrl: 'redis://config:1', keyPrefix: 'cfg:', retentionMarginMs: 5, cacheSeries: 7, denseDay: 2, maxSeriesInMemory: 3, features: 'basic' }`;

  it('falls back to the built-in defaults without an online section', async () => {
    const { project } = await projectWith();
    expect(onlineSettings(project, {}, {})).toEqual({
      backend: 'embedded', redisUrl: DEFAULT_REDIS_URL, prefix: 'kiln:settings:',
      engine: { features: undefined, retentionMarginMs: undefined, cacheSeries: undefined, denseDay: undefined },
    });
  });

  it('takes the config over the defaults', async () => {
    const { project } = await projectWith(CONFIG);
    expect(onlineSettings(project, {}, {})).toEqual({
      backend: 'redis', redisUrl: 'redis://config:1', prefix: 'cfg:', maxSeriesInMemory: 3,
      engine: { features: 'basic', retentionMarginMs: 5, cacheSeries: 7, denseDay: 2 },
    });
  });

  it('takes the environment over the config, and an empty variable as unset', async () => {
    const { project } = await projectWith(CONFIG);
    const env = { KILN_ONLINE_BACKEND: 'embedded', KILN_REDIS_URL: 'redis://env:2' };
    expect(onlineSettings(project, {}, env)).toMatchObject({ backend: 'embedded', redisUrl: 'redis://env:2', prefix: 'cfg:' });
    expect(onlineSettings(project, {}, { KILN_ONLINE_BACKEND: '', KILN_REDIS_URL: '' })).toMatchObject({ backend: 'redis', redisUrl: 'redis://config:1' });
  });

  it('takes explicit options over everything', async () => {
    const { project } = await projectWith(CONFIG);
    const env = { KILN_ONLINE_BACKEND: 'embedded', KILN_REDIS_URL: 'redis://env:2' };
    const opts = { backend: 'memcached', redisUrl: 'redis://opt:3', prefix: 'opt:', features: ['n_1d'], retentionMarginMs: 0, cacheSeries: 0, denseDay: 1, maxSeriesInMemory: 9 };
    expect(onlineSettings(project, opts, env)).toEqual({
      backend: 'memcached', redisUrl: 'redis://opt:3', prefix: 'opt:', maxSeriesInMemory: 9,
      engine: { features: ['n_1d'], retentionMarginMs: 0, cacheSeries: 0, denseDay: 1 },
    });
  });
});

describe('openOnlineStore with an online config section (embedded)', () => {
  const events = [0, 1, 2, 5].map((d) => ({ user_id: 1, ts: new Date((T0 + d * DAY + HOUR) / 1000).toISOString(), amount: 1, cat: 'a' }));

  /** Pushes events over five days, then reads n_1d three days back: within the retention margin or not. */
  async function readBack(online: OnlineFeatureStore): Promise<unknown> {
    try {
      await online.push({ source: 'pay' }, events);
      return (await online.getOnlineFeatures([1], 'n_1d', { asOf: new Date((T0 + 2 * DAY + 2 * HOUR) / 1000) }))[0]!.n_1d;
    } catch (e) {
      return isKilnError(e) ? e.message : e;
    } finally {
      await online.close();
    }
  }

  it('serves the configured features and applies the configured retention margin', async () => {
    const { project } = await projectWith(`{ backend: 'embedded', features: 'n_1d', retentionMarginMs: 0 }`);
    const online = await openOnlineStore(project, { definitions: CONTRACT_DEFS });
    expect(online.backend.capabilities.name).toBe('embedded');
    expect(online.plan.selection).toEqual(['n_1d']);
    // With no margin the store keeps raw events only from the longest window (1 d) before the latest event.
    expect(await readBack(online)).toMatch(/too far back for the 1d window of entity 1 .*keeps raw events from 2024-01-05T00:00:00/);
  });

  it('lets an option override the configured engine settings', async () => {
    const { project } = await projectWith(`{ features: 'n_1d', retentionMarginMs: 0 }`);
    const online = await openOnlineStore(project, { definitions: CONTRACT_DEFS, features: ['n_1h', 'n_1d'], retentionMarginMs: 10 * 86_400_000 });
    expect(online.plan.selection).toEqual(['n_1h', 'n_1d']);
    expect(await readBack(online)).toBe(1);
  });

  it('lets the environment override the configured backend, and keeps the unknown-backend error', async () => {
    const { project } = await projectWith(`{ backend: 'redis', redisUrl: 'redis://127.0.0.1:1' }`);
    vi.stubEnv('KILN_ONLINE_BACKEND', 'embedded');
    const online = await openOnlineStore(project, { definitions: CONTRACT_DEFS });
    expect(online.backend.capabilities.name).toBe('embedded');
    await online.close();
    vi.stubEnv('KILN_ONLINE_BACKEND', 'memcached');
    await expect(openOnlineStore(project, { definitions: CONTRACT_DEFS })).rejects.toThrow("online backend 'memcached' is unknown; use one of: embedded, redis");
    await expect(openOnlineStore(project, { definitions: CONTRACT_DEFS, backend: 'embedded' }).then((s) => s.close())).resolves.toBeUndefined();
  });
});

describe('openOnlineStore with an online config section (redis)', () => {
  let skip = false;
  beforeEach(async (t) => {
    skip = (await redisMode()) === 'skip';
    if (skip) t.skip();
  });

  it('connects to the configured Redis under the configured prefix; options override them', async () => {
    const prefix = `kiln-test:${randomBytes(6).toString('hex')}:`;
    const { project } = await projectWith(`{ backend: 'redis', redisUrl: ${JSON.stringify(REDIS_URL)}, keyPrefix: ${JSON.stringify(prefix)} }`);
    const opened: OnlineFeatureStore[] = [];
    try {
      const online = await openOnlineStore(project, { definitions: CONTRACT_DEFS });
      opened.push(online);
      expect(online.backend).toBeInstanceOf(RedisOnlineStore);
      expect(online.backend).toMatchObject({ url: REDIS_URL, prefix });
      const other = await openOnlineStore(project, { definitions: CONTRACT_DEFS, prefix: `${prefix}opt:` });
      opened.push(other);
      expect(other.backend).toMatchObject({ url: REDIS_URL, prefix: `${prefix}opt:` });
      // The configured URL is used: a config pointing nowhere fails naming it, unless the option says otherwise.
      const nowhere = await projectWith(`{ backend: 'redis', redisUrl: 'redis://127.0.0.1:1', keyPrefix: ${JSON.stringify(prefix)} }`);
      await expect(openOnlineStore(nowhere.project, { definitions: CONTRACT_DEFS })).rejects.toThrow(/^cannot reach Redis at redis:\/\/127\.0\.0\.1:1 /);
      const rescued = await openOnlineStore(nowhere.project, { definitions: CONTRACT_DEFS, redisUrl: REDIS_URL });
      opened.push(rescued);
      expect(rescued.backend).toMatchObject({ url: REDIS_URL });
    } finally {
      for (const s of opened) { await (s.backend as RedisOnlineStore).drop(); await s.close(); }
    }
  });
});
