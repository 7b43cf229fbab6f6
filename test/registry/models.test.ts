import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KilnError } from '../../src/core/errors.js';
import { ModelRegistry, aliasHistory, checkSignature, type ModelSignature } from '../../src/registry/index.js';
import { backendProject, META_BACKENDS } from '../meta-backends.js';

let ctx: Awaited<ReturnType<typeof backendProject>>;
let reg: ModelRegistry;
const sig: ModelSignature = { features: [{ name: 'spend_30d', type: 'DOUBLE', version: 'a1' }, { name: 'income', type: 'DOUBLE' }], output: 'pd' };
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));


describe.each(META_BACKENDS)('model registry (%s)', (backend) => {
  beforeEach(async () => {
    ctx = await backendProject(backend);
    reg = new ModelRegistry(ctx.project.meta.db);
  });
  afterEach(() => ctx.cleanup());

  it('numbers versions per model and resolves name, name@version and name@alias', () => {
    expect(reg.registerVersion('credit', { signature: sig, actor: 'ana' }).version).toBe(1);
    expect(reg.registerVersion('credit', { signature: sig, actor: 'ana' }).version).toBe(2);
    expect(reg.registerVersion('fraud', { signature: sig }).version).toBe(1);
    reg.setAlias('credit', 'champion', 1, { reason: 'first approved model', actor: 'ana' });
    expect(reg.resolve('credit').version).toBe(2);
    expect(reg.resolve('credit@1').version).toBe(1);
    expect(reg.resolve('credit@champion')).toMatchObject({ version: 1, aliases: ['champion'], createdBy: 'ana' });
    expect(reg.listModels()).toEqual([
      expect.objectContaining({ name: 'credit', latestVersion: 2, versions: 2, aliases: { champion: 1 } }),
      expect.objectContaining({ name: 'fraud', latestVersion: 1, versions: 1, aliases: {} }),
    ]);
    expect(() => reg.resolve('credit@champoin')).toThrow("model 'credit' has no alias 'champoin'; did you mean 'champion'?");
    expect(() => reg.resolve('credti')).toThrow("no model 'credti'; did you mean 'credit'?");
    expect(() => reg.resolve('credit@9')).toThrow("model 'credit' has no version 9 (versions: 1..2)");
  });

  it('gives each failure a code a caller can switch on', () => {
    const code = (f: () => unknown): string => { try { f(); } catch (e) { return (e as KilnError).code; } return 'none'; };
    reg.registerVersion('credit', { signature: sig });
    expect(code(() => reg.resolve('credti'))).toBe('MODEL_NOT_FOUND');
    expect(code(() => reg.resolve('credit@9'))).toBe('VERSION_NOT_FOUND');
    expect(code(() => reg.resolve('credit@champion'))).toBe('ALIAS_NOT_FOUND');
    expect(code(() => reg.removeAlias('credit', 'champion', { reason: 'x' }))).toBe('ALIAS_NOT_FOUND');
    expect(code(() => reg.setAlias('credit', '1st', 1, { reason: 'x' }))).toBe('NAME_INVALID');
    expect(code(() => reg.registerVersion('9lives', { signature: sig }))).toBe('NAME_INVALID');
    expect(code(() => reg.setAlias('credit', 'champion', 1, { reason: ' ' }))).toBe('USAGE');
    expect(code(() => aliasHistory(reg, 'credit', { at: 'last tuesday' }))).toBe('USAGE');
    expect(code(() => reg.registerVersion('credit', { signature: { ...sig, features: [] } }))).toBe('INVALID_ARGUMENT');
  });

  it('moves an alias atomically, records who and why, and needs a reason', () => {
    reg.registerVersion('credit', { signature: sig });
    reg.registerVersion('credit', { signature: sig });
    expect(reg.setAlias('credit', 'champion', 1, { reason: 'launch', actor: 'ana' })).toEqual({ previousVersion: null });
    expect(reg.setAlias('credit', 'champion', 2, { reason: 'beat v1 on OOT AUC', actor: 'bo' })).toEqual({ previousVersion: 1 });
    expect(reg.resolve('credit@champion').version).toBe(2);
    expect(() => reg.setAlias('credit', 'champion', 1, { reason: '  ' })).toThrow('an alias change needs a reason');
    expect(() => reg.setAlias('credit', 'champion', 7, { reason: 'x' })).toThrow('has no version 7');
    expect(reg.resolve('credit@champion').version).toBe(2); // failed changes changed nothing
    reg.removeAlias('credit', 'champion', { reason: 'model withdrawn', actor: 'cy' });
    expect(() => reg.resolve('credit@champion')).toThrow(KilnError);
    const log = reg.auditLog('credit').map((e) => [e.action, e.version, e.alias, e.previousVersion, e.actor, e.reason]);
    expect(log.slice(2)).toEqual([
      ['set_alias', 1, 'champion', null, 'ana', 'launch'],
      ['set_alias', 2, 'champion', 1, 'bo', 'beat v1 on OOT AUC'],
      ['remove_alias', null, 'champion', 2, 'cy', 'model withdrawn'],
    ]);
  });

  it('keeps the audit log append-only', () => {
    reg.registerVersion('credit', { signature: sig });
    expect(() => ctx.project.meta.db.prepare(`UPDATE audit_log SET actor = 'mallory'`).run()).toThrow('audit_log is append-only');
    expect(() => ctx.project.meta.db.prepare('DELETE FROM audit_log').run()).toThrow('audit_log is append-only');
  });

  it('answers which version held each alias at any moment', async () => {
    for (let i = 0; i < 3; i++) reg.registerVersion('credit', { signature: sig });
    reg.setAlias('credit', 'champion', 1, { reason: 'launch' });
    await tick();
    const t1 = new Date().toISOString();
    await tick();
    reg.setAlias('credit', 'challenger', 2, { reason: 'shadow test' });
    reg.setAlias('credit', 'champion', 2, { reason: 'promote' });
    await tick();
    const t2 = new Date().toISOString();
    await tick();
    reg.removeAlias('credit', 'challenger', { reason: 'done' });
    reg.setAlias('credit', 'champion', 3, { reason: 'retrain' });
    const all = aliasHistory(reg, 'credit');
    expect(all.map((i) => [i.alias, i.version, i.to === null])).toEqual([
      ['champion', 1, false], ['challenger', 2, false], ['champion', 2, false], ['champion', 3, true],
    ]);
    expect(aliasHistory(reg, 'credit', { at: t1 }).map((i) => [i.alias, i.version])).toEqual([['champion', 1]]);
    expect(aliasHistory(reg, 'credit', { at: t2 }).map((i) => [i.alias, i.version]).sort()).toEqual([['challenger', 2], ['champion', 2]]);
    expect(aliasHistory(reg, 'credit', { at: '2000-01-01' })).toEqual([]);
    expect(() => aliasHistory(reg, 'credit', { at: 'last tuesday' })).toThrow('--at last tuesday: expected an ISO date');
  });

  it('reads --at with the one UTC time parser: no offset is UTC, another offset is refused, not shifted', () => {
    reg.registerVersion('credit', { signature: sig });
    reg.registerVersion('credit', { signature: sig });
    // The alias moves at known instants (the audit log is append-only: its times come from the clock).
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(new Date('2026-03-03T12:00:00Z'));
      reg.setAlias('credit', 'champion', 1, { reason: 'first' });
      vi.setSystemTime(new Date('2026-03-03T14:00:00Z'));
      reg.setAlias('credit', 'champion', 2, { reason: 'second' });
    } finally {
      vi.useRealTimers();
    }
    const at = (t: string): number[] => aliasHistory(reg, 'credit', { at: t }).map((i) => i.version);
    expect(at('2026-03-03T13:30:00Z')).toEqual([1]);
    expect(at('2026-03-03 13:30:00')).toEqual([1]); // no offset: UTC, whatever the machine's time zone
    expect(at('2026-03-03T14:00:00+00:00')).toEqual([2]);
    expect(at('2026-03-03T13:59:59.999999Z')).toEqual([1]);
    expect(at('2026-03-03')).toEqual([]);
    // Date.parse took this and shifted it to 12:30Z (version 1): kiln works in UTC and says so.
    const e = (() => { try { at('2026-03-03T14:30:00+02:00'); } catch (err) { return err as KilnError; } throw new Error('no error'); })();
    expect(e).toBeInstanceOf(KilnError);
    expect(e.code).toBe('USAGE');
    expect(e.message).toContain('--at 2026-03-03T14:30:00+02:00: expected an ISO date or timestamp in UTC');
    expect(e.message).toContain('offset +02:00');
    // Date.parse took an impossible date (rolled over into March): now it is named.
    expect(() => at('2026-02-30T10:00:00Z')).toThrow("--at 2026-02-30T10:00:00Z: expected an ISO date or timestamp in UTC such as 2026-03-03T14:00:00Z ('2026-02-30T10:00:00Z' is not a valid date and time)");
  });

  it('enforces the input signature when a version is loaded for scoring', () => {
    const mv = reg.registerVersion('credit', { signature: sig });
    expect(() => checkSignature(mv, [{ name: 'spend_30d', type: 'DOUBLE', version: 'a1' }, { name: 'income', type: 'DOUBLE' }, { name: 'extra', type: 'BIGINT' }])).not.toThrow();
    let err: KilnError | undefined;
    try {
      checkSignature(mv, [{ name: 'spend_30d', type: 'BIGINT', version: 'b2' }]);
    } catch (e) { err = e as KilnError; }
    expect(err?.code).toBe('SIGNATURE_MISMATCH');
    expect(err?.message).toContain('credit version 1 cannot score this input (3 problems)');
    expect(err?.message).toContain("feature 'spend_30d' is BIGINT, the model was trained on DOUBLE");
    expect(err?.message).toContain("feature 'spend_30d' is at definition version b2, the model was trained on a1");
    expect(err?.message).toContain("feature 'income' is missing");
  });
});
