import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decidedBy, openModelSet, type ModelEvent, type ModelSet } from '../../src/serve/index.js';
import { fails } from '../fails.js';
import { modelFixture, type Fixture } from './models-fixture.js';

let fx: Fixture;
const sets: ModelSet[] = [];

beforeAll(async () => {
  fx = await modelFixture('traffic');
  fx.project.registry.setAlias('risk', 'challenger', 2, { reason: 'test: challenger' });
}, 60_000);
afterAll(async () => { for (const s of sets) await s.close(); fx?.cleanup(); });

async function open(opts: Parameters<typeof openModelSet>[2] = {}): Promise<{ set: ModelSet; events: ModelEvent[]; log: string[] }> {
  const events: ModelEvent[] = [];
  const log: string[] = [];
  const set = await openModelSet(fx.project, ['risk@champion'], { pollMs: 0, log: (l) => log.push(l), ...opts });
  set.onEvent((e) => events.push(e));
  sets.push(set);
  return { set, events, log };
}

describe('challengers', () => {
  it('a canary from the config decides its share of entities (binomial tolerance), sticky per entity', async () => {
    const { set } = await open({ traffic: { risk: { challenger: 'risk@challenger', mode: 'canary', share: 0.2 } } });
    const route = set.route('risk')!;
    expect(route.challenger).toMatchObject({ mode: 'canary', share: 0.2 });
    expect(route.challenger!.live.version).toBe(2);
    expect(set.status()[0]!.challenger).toEqual({ ref: 'risk@challenger', version: 2, mode: 'canary', share: 0.2 });
    const n = 10_000;
    let canary = 0;
    for (let i = 0; i < n; i++) if (decidedBy(route, `borrower-${i}`) === 'canary') canary++;
    // 0.2 of 10,000: sd = sqrt(10,000 x 0.2 x 0.8) = 40; 4 sd either side
    expect(Math.abs(canary - 2000)).toBeLessThan(160);
    for (let i = 0; i < 200; i++) expect(decidedBy(set.route('risk')!, `borrower-${i}`)).toBe(decidedBy(route, `borrower-${i}`));
    expect(decidedBy(route, null)).toBe('primary');
  });

  it('setTraffic validates the challenger, records the change in the audit log and swaps the route', async () => {
    const { set, events, log } = await open();
    expect(set.route('risk')!.challenger).toBeNull();
    const before = set.route('risk')!;
    const route = await set.setTraffic('risk', { challenger: 'risk@challenger', mode: 'shadow' }, { actor: 'ops@lender', reason: 'shadow v2 for a week' });
    expect(route.challenger).toMatchObject({ mode: 'shadow', share: 1 });
    expect(route.challenger!.live.version).toBe(2);
    expect(set.route('risk')).toBe(route);
    expect(route.primary).toBe(before.primary); // the primary is not reloaded
    expect(before.challenger).toBeNull();
    expect(decidedBy(route, 'x')).toBe('primary'); // a shadow never decides
    expect(events.at(-1)).toEqual({ kind: 'traffic', name: 'risk', traffic: { challenger: 'risk@challenger', mode: 'shadow', share: 1 } });
    expect(log.at(-1)).toBe('risk: traffic shadow risk@challenger (version 2) (shadow v2 for a week)');
    const canary = await set.setTraffic('risk', { challenger: 'risk@2', mode: 'canary', share: 0.05 }, { actor: 'ops@lender', reason: 'canary 5%' });
    expect(canary.challenger).toMatchObject({ mode: 'canary', share: 0.05 });
    await set.setTraffic('risk', null, { actor: 'ops@lender', reason: 'done' });
    expect(set.route('risk')!.challenger).toBeNull();
    const audit = fx.project.registry.auditLog('risk').filter((e) => e.action === 'set_traffic');
    expect(audit.map((e) => [e.actor, e.version, e.previousVersion, e.reason, e.details])).toEqual([
      ['ops@lender', 2, null, 'shadow v2 for a week', { challenger: 'risk@challenger', mode: 'shadow', share: 1, version: 2 }],
      ['ops@lender', 2, 2, 'canary 5%', { challenger: 'risk@2', mode: 'canary', share: 0.05, version: 2 }],
      ['ops@lender', null, 2, 'done', null],
    ]);
    // entries without details read as before
    expect(fx.project.registry.auditLog('risk').find((e) => e.action === 'set_alias')).not.toHaveProperty('details');
  });

  it('refuses a bad traffic change with a clear error, and the route stays as it was', async () => {
    const { set } = await open();
    const route = set.route('risk')!;
    const why = { reason: 'test' };
    expect((await fails(set.setTraffic('risk', { challenger: 'other@2', mode: 'shadow' }, why), 'REQUEST_INVALID')).message).toContain("a challenger of 'risk' must be a version of 'risk'");
    expect((await fails(set.setTraffic('risk', { challenger: 'risk@2', mode: 'canary', share: 1 }, why), 'REQUEST_INVALID')).message).toContain('strictly between 0 and 1');
    await fails(set.setTraffic('risk', { challenger: 'risk@2', mode: 'canary' }, why), 'REQUEST_INVALID');
    await fails(set.setTraffic('risk', { challenger: 'risk@2', mode: 'shadow', share: 0.5 }, why), 'REQUEST_INVALID');
    await fails(set.setTraffic('risk', { challenger: 'risk@2', mode: 'blue' as 'shadow' }, why), 'REQUEST_INVALID');
    await fails(set.setTraffic('risk', { challenger: 'risk@2', mode: 'shadow' }, { reason: ' ' }), 'REQUEST_INVALID');
    await fails(set.setTraffic('nope', { challenger: 'nope@2', mode: 'shadow' }, why), 'MODEL_NOT_SERVED');
    await fails(set.setTraffic('risk', { challenger: 'risk@nosuch', mode: 'shadow' }, why), 'ALIAS_NOT_FOUND');
    const bad = fx.registerEdited(2, (b) => { b.smoke!.probability[0] = 0.999; });
    expect((await fails(set.setTraffic('risk', { challenger: `risk@${bad}`, mode: 'canary', share: 0.1 }, why), 'MODEL_VALIDATION_FAILED')).message).toContain('smoke row 0');
    expect(set.route('risk')).toBe(route);
    expect(fx.project.registry.auditLog('risk').filter((e) => e.action === 'set_traffic' && e.reason === 'test')).toEqual([]);
  });

  it('a challenger given by alias follows its alias; one that fails validation is not taken', async () => {
    const { set, events } = await open({ traffic: { risk: { challenger: 'risk@challenger', mode: 'shadow' } } });
    expect(set.route('risk')!.challenger!.live.version).toBe(2);
    fx.other.registry.setAlias('risk', 'challenger', 1, { reason: 'test: challenger to 1' });
    await set.refresh();
    expect(set.route('risk')!.challenger!.live.version).toBe(1);
    expect(set.route('risk')!.primary.version).toBe(1);
    expect(events.at(-1)).toMatchObject({ kind: 'swap', ref: 'risk@challenger', from: 2, to: 1 });
    const bad = fx.registerEdited(2, (b) => { b.smoke!.probability[1] = 0.999; });
    fx.other.registry.setAlias('risk', 'challenger', bad, { reason: 'test: bad challenger' });
    await set.refresh();
    expect(set.route('risk')!.challenger!.live.version).toBe(1);
    expect(events.at(-1)).toMatchObject({ kind: 'swap_failed', ref: 'risk@challenger', version: bad });
    fx.other.registry.setAlias('risk', 'challenger', 2, { reason: 'test: challenger back' });
  });

  it('a configured challenger that cannot load leaves the primary serving and is retried', async () => {
    const { set } = await open({ traffic: { risk: { challenger: 'risk@later', mode: 'canary', share: 0.1 } } });
    expect(set.ready()).toBe(true);
    expect(set.route('risk')!.challenger).toBeNull();
    expect(set.status()[0]!.lastError!.message).toContain("no alias 'later'");
    fx.other.registry.setAlias('risk', 'later', 2, { reason: 'test: later' });
    await set.refresh();
    expect(set.route('risk')!.challenger).toMatchObject({ mode: 'canary', share: 0.1 });
  });
});
