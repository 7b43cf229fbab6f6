/** The registry's reads for the web UI: one model's summary; versions and audit log newest first, paged in SQL, with the total. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelRegistry, type ModelSignature } from '../../src/registry/index.js';
import { backendProject, META_BACKENDS } from '../meta-backends.js';

let ctx: Awaited<ReturnType<typeof backendProject>>;
let reg: ModelRegistry;
const sig: ModelSignature = { features: [{ name: 'income', type: 'DOUBLE' }] };


describe.each(META_BACKENDS)('registry pages (%s)', (backend) => {
  beforeEach(async () => {
    ctx = await backendProject(backend);
    reg = new ModelRegistry(ctx.project.meta.db);
    for (let i = 0; i < 7; i++) reg.registerVersion('credit', { signature: sig, actor: 'ana', description: `v${i + 1}` });
    reg.registerVersion('fraud', { signature: sig });
    reg.setAlias('credit', 'champion', 2, { reason: 'first', actor: 'ana' });
    reg.setAlias('credit', 'champion', 5, { reason: 'better', actor: 'bo' });
  });
  afterEach(() => ctx.cleanup());

  it('versionsPage: newest first, limit and offset, the total, aliases on each version', () => {
    const p1 = reg.versionsPage('credit', { limit: 3 });
    expect(p1.total).toBe(7);
    expect(p1.versions.map((v) => v.version)).toEqual([7, 6, 5]);
    expect(p1.versions[2]).toMatchObject({ aliases: ['champion'], description: 'v5', createdBy: 'ana' });
    expect(reg.versionsPage('credit', { limit: 3, offset: 6 }).versions.map((v) => v.version)).toEqual([1]);
    expect(reg.versionsPage('credit', { limit: 3, offset: 9 }).versions).toEqual([]);
    expect(reg.versionsPage('fraud', { limit: 50 }).total).toBe(1);
  });

  it('versionNumbers: the newest version numbers with their times', () => {
    const all = reg.listVersions('credit');
    expect(reg.versionNumbers('credit', 3)).toEqual([7, 6, 5].map((v) => ({ version: v, createdAt: all[v - 1]!.createdAt })));
    expect(reg.versionNumbers('fraud', 10).map((v) => v.version)).toEqual([1]);
  });

  it("auditPage: the model's entries newest first, the same entries as auditLog", () => {
    const all = reg.auditLog('credit');
    expect(all).toHaveLength(9);
    const p = reg.auditPage('credit', { limit: 4 });
    expect(p.total).toBe(9);
    expect(p.entries).toEqual([...all].reverse().slice(0, 4));
    expect(p.entries[0]).toMatchObject({ action: 'set_alias', alias: 'champion', version: 5, previousVersion: 2, actor: 'bo', reason: 'better' });
    expect(reg.auditPage('credit', { limit: 4, offset: 8 }).entries.map((e) => e.version)).toEqual([1]);
    expect(reg.auditPage('fraud', { limit: 10 }).entries.map((e) => e.action)).toEqual(['register_version']);
  });

  it('getModel: one model as listModels shows it', () => {
    expect(reg.getModel('credit')).toEqual(reg.listModels()[0]);
    expect(reg.getModel('credit')).toMatchObject({ name: 'credit', latestVersion: 7, versions: 7, aliases: { champion: 5 } });
    expect(() => reg.getModel('fruad')).toThrow("no model 'fruad'; did you mean 'fraud'?");
  });

  it('refuses an unknown model and a bad page size', () => {
    expect(() => reg.versionsPage('credti', { limit: 5 })).toThrow("no model 'credti'; did you mean 'credit'?");
    expect(() => reg.auditPage('credit', { limit: 0 })).toThrow('a page holds a whole number of rows >= 1; got 0');
  });
});
