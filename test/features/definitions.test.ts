/** Builders, load-time validation (every problem at once, with did-you-mean) and versions. */
import { describe, expect, it } from 'vitest';
import { isKilnError, type KilnError } from '../../src/core/errors.js';
import {
  attribute, count, derived, div, entity, eventSource, featureSet, formatWindow, lastK, loadFeatureRegistry, parseWindow, snapshotSource,
  sum, validateDefinitions,
} from '../../src/features/index.js';

const borrower = entity('borrower', { key: 'borrower_id' });
const txns = eventSource('transactions', { entity: borrower, timestamp: 'ts', columns: { amount: 'double', category: 'varchar', merchant_id: 'bigint' } });
const profile = snapshotSource('profile', { entity: borrower, table: 'borrowers', timestamp: 'created_at', columns: { income: 'double', region: 'varchar' } });
const spend30d = sum(txns, 'amount', { name: 'spend_30d', window: '30d', description: 'spend', owner: 'risk' });
const income = attribute(profile, 'income', { name: 'income' });
const ratio = derived('spend_to_income', div(spend30d, income));
const base = [borrower, txns, profile, spend30d, income, ratio, featureSet('credit', [spend30d, ratio])];

function thrown(fn: () => unknown): KilnError {
  try { fn(); } catch (e) { if (isKilnError(e)) return e; throw e; }
  throw new Error('expected a KilnError');
}

describe('the DSL', () => {
  it('produces frozen, JSON-serialisable plain data', () => {
    expect(Object.isFrozen(spend30d)).toBe(true);
    expect(Object.isFrozen(spend30d.meta)).toBe(true);
    expect(JSON.parse(JSON.stringify(spend30d))).toEqual({
      kind: 'feature', type: 'aggregate', name: 'spend_30d', source: 'transactions', op: 'sum', column: 'amount', window: '30d',
      where: [], by: null, params: {}, meta: { description: 'spend', owner: 'risk' },
    });
    expect(() => { (spend30d as { window: string }).window = '1d'; }).toThrow(TypeError);
  });

  it('normalises windows and filters so that equal meanings are equal data', () => {
    const a = count(txns, { name: 'n', window: '1w', where: { category: ['b', 'a', 'b'], amount: { lte: 5, gt: 1 } } });
    const b = count(txns, { name: 'n', window: '168h', where: { amount: { gt: 1, lte: 5 }, category: ['a', 'b'] } });
    expect(a).toEqual(b);
    expect(a.window).toBe('7d');
    expect(a.where).toEqual([
      { column: 'amount', op: 'gt', value: 1 }, { column: 'amount', op: 'lte', value: 5 }, { column: 'category', op: 'in', value: ['a', 'b'] },
    ]);
  });

  it('parses windows and says how to write a bad one', () => {
    expect(parseWindow('90m')).toEqual({ seconds: 5400 });
    expect(parseWindow('lifetime')).toEqual({ seconds: null });
    expect(formatWindow(5400)).toBe('90m');
    for (const bad of ['7 days', '7x', '0d', '-1d', '1.5d', '']) expect(parseWindow(bad)).toHaveProperty('problem');
    expect((parseWindow('3 months') as { problem: string }).problem).toContain('months and years vary in length');
  });
});

describe('load-time validation', () => {
  it('builds a registry with entities, versions, outputs and users', () => {
    const r = loadFeatureRegistry(base);
    expect([...r.features.keys()]).toEqual(['spend_30d', 'income', 'spend_to_income']);
    expect(r.features.get('spend_30d')!.usedBy).toEqual(['spend_to_income', 'credit']);
    expect(r.features.get('spend_to_income')).toMatchObject({ inputs: ['spend_30d', 'income'], entity: { name: 'borrower' }, outputKind: 'number' });
    expect(r.sets.get('credit')!.entity!.name).toBe('borrower');
  });

  it('reports every problem at once, naming the feature, with did-you-mean', () => {
    const defs = [
      ...base,
      // Written as plain data, as a JavaScript config could: nothing here was caught by the compiler.
      { ...sum(txns, 'amount', { name: 'typo_col', window: '30d' }), column: 'amont' },
      { ...sum(txns, 'amount', { name: 'typo_src', window: '30d' }), source: 'transactoins' },
      { ...count(txns, { name: 'bad_window', window: '30d' }), window: '30 days' },
      { ...count(txns, { name: 'bad_window2', window: '30d' }), window: '7x' },
      { ...sum(txns, 'amount', { name: 'str_sum', window: '30d' }), column: 'category' },
      { ...count(txns, { name: 'bad_where', window: '1d' }), where: [{ column: 'categroy', op: 'eq', value: 'a' }] },
      derived('bad_ref', div({ ref: 'spend_3d' }, 2)),
      featureSet('bad_set', [spend30d, { ...spend30d, name: 'incme' }]),
      { kind: 'gadget', name: 'x' },
    ];
    const issues = validateDefinitions(defs).map((i) => i.message);
    expect(issues).toEqual(expect.arrayContaining([
      "feature 'typo_col': source 'transactions' has no column 'amont'; did you mean 'amount'? (declared: amount, category, merchant_id)",
      expect.stringContaining("feature 'typo_src': source \"transactoins\" is not defined; did you mean 'transactions'?"),
      expect.stringContaining("feature 'bad_window': window '30 days' does not parse; write it as <n><unit>"),
      expect.stringContaining("feature 'bad_window2': window '7x' does not parse"),
      "feature 'str_sum': operator 'sum' needs a numeric column; 'category' is varchar",
      expect.stringContaining("feature 'bad_where': source 'transactions' has no column 'categroy'; did you mean 'category'?"),
      "feature 'bad_ref': refers to unknown feature 'spend_3d'; did you mean 'spend_30d'?",
      expect.stringContaining("feature set 'bad_set': feature \"incme\" is not defined; did you mean 'income'?"),
      expect.stringContaining('features[15] is not a kiln definition'),
    ]));
    expect(issues).toHaveLength(9);
    const e = thrown(() => loadFeatureRegistry(defs));
    expect(e.code).toBe('FEATURE_DEFINITION_INVALID');
    expect(e.message).toMatch(/^feature definitions: 9 problems:\n {2}- /);
  });

  it('checks operator parameters, buckets, expressions and entities', () => {
    const other = entity('merchant', { key: 'merchant_id' });
    const mtx = eventSource('mtx', { entity: other, table: 'transactions', timestamp: 'ts', columns: { amount: 'double' } });
    const mspend = sum(mtx, 'amount', { name: 'm_spend', window: '1d' });
    const byCat = sum(txns, 'amount', { name: 'by_cat', window: '1d', by: { column: 'category', values: ['a b', 'a_b'] } });
    const issues = validateDefinitions([
      ...base, other, mtx, mspend, byCat,
      lastK(txns, { name: 'seq0', k: 0, fields: [] }),
      derived('mixed', div(spend30d, mspend)),
      derived('whole_bucket', div(byCat as never, 2)),
      { ...count(txns, { name: 'dup', window: '1d' }) }, { ...count(txns, { name: 'dup', window: '2d' }) },
      featureSet('two_entities', [spend30d, mspend]),
      { ...attribute(profile, 'region', { name: 'attr_on_events' }), source: 'transactions' },
    ]).map((i) => i.message);
    expect(issues).toEqual(expect.arrayContaining([
      "feature 'by_cat': bucket values \"a b\" and \"a_b\" both become column 'by_cat__a_b'",
      'feature \'seq0\': k must be an integer from 1 to 10000; got 0',
      "feature 'seq0': fields must list at least one column",
      "feature 'mixed': reads features of different entities (borrower, merchant); a derived feature describes one entity",
      expect.stringContaining("feature 'whole_bucket': 'by_cat' has one column per bucket; read one with bucket(by_cat, value)"),
      "feature 'dup' is defined twice (features[15]); names must be unique",
      "feature set 'two_entities': mixes entities (borrower, merchant); a training set reads one entity per row",
      "feature 'attr_on_events': operator 'latest' reads a snapshot source as of the spine time; 'transactions' is an event source (use last(...) for the latest event value)",
    ]));
  });
});

describe('versions', () => {
  const versionOf = (defs: unknown[], name: string): string => loadFeatureRegistry(defs).features.get(name)!.version;

  it('are a stable hash of meaning', () => {
    // A fixed value: the same definition hashes the same in every process and on every machine. If this
    // changes, every stored version changes with it: bump FEATURE_FORMAT deliberately, never by accident.
    expect(versionOf(base, 'spend_30d')).toBe('801ffca2d90ed5477cec5727d319e6517801093315b475999f91b7ddfd5e91d0');
    expect(versionOf([...base].reverse(), 'spend_30d')).toBe(versionOf(base, 'spend_30d'));
  });

  it('ignore descriptions and owners, and follow what the feature reads', () => {
    const v = versionOf(base, 'spend_30d');
    const relabelled = sum(txns, 'amount', { name: 'spend_30d', window: '30d', description: 'other words', owner: 'someone else' });
    expect(versionOf([...base.filter((d) => d !== spend30d), relabelled], 'spend_30d')).toBe(v);
    const variants = [
      sum(txns, 'amount', { name: 'spend_30d', window: '31d' }),
      sum(txns, 'amount', { name: 'spend_30d', window: '30d', where: { category: 'a' } }),
      sum(txns, 'merchant_id', { name: 'spend_30d', window: '30d' }),
    ];
    for (const f of variants) expect(versionOf([...base.filter((d) => d !== spend30d), f], 'spend_30d')).not.toBe(v);
    const lateTxns = eventSource('transactions', { entity: borrower, timestamp: 'ts', availableAt: 'loaded_at', columns: txns.columns });
    expect(versionOf([...base.filter((d) => d !== txns), lateTxns], 'spend_30d')).not.toBe(v);
    // A derived feature changes with its inputs.
    const r = versionOf(base, 'spend_to_income');
    expect(versionOf([...base.filter((d) => d !== spend30d), variants[0]!], 'spend_to_income')).not.toBe(r);
    const extraColumn = eventSource('transactions', { entity: borrower, timestamp: 'ts', columns: { ...txns.columns, channel: 'varchar' } });
    expect(versionOf([...base.filter((d) => d !== txns), extraColumn], 'spend_30d')).toBe(v);
  });
});

describe('the demo definitions', () => {
  it('freeze the simulator’s merchant categories as their bucket values', async () => {
    const { DEMO_CATEGORIES } = await import('../../examples/demo/features.js');
    const { CATEGORIES } = await import('../../src/sim/schema.js');
    expect([...DEMO_CATEGORIES]).toEqual([...CATEGORIES]);
  });
});
