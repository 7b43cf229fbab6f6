/**
 * The selected candidates as a TypeScript module of typed definitions, ready to add to a config:
 * builders imported from 'kiln', the source declared exactly as the config declares it (same table,
 * key, times and column types, so the versions are those discovery evaluated), and `DISCOVERED`, the
 * features to spread into the config's `features`.
 */
import type { SourceSpec, EntitySpec } from '../features/index.js';
import { planInputs, type AggregatePlan, type Plan } from './candidates.js';
import type { DiscoverResult } from './discover.js';

const BUILDER: Readonly<Record<AggregatePlan['op'], string>> = {
  count: 'count', sum: 'sum', mean: 'mean', min: 'min', max: 'max', stddev: 'stddev', countDistinct: 'countDistinct', timeSinceLast: 'timeSinceLast', attribute: 'attribute',
};
const lit = (v: unknown): string => (typeof v === 'string' ? `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : JSON.stringify(v));
const ident = (name: string): string => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : `f_${name.replace(/[^A-Za-z0-9_$]/g, '_')}`);

function aggregateCall(p: AggregatePlan): string {
  const where = p.where ? `, where: { ${p.where.column}: ${lit(p.where.value)} }` : '';
  if (p.op === 'attribute') return `attribute(source, ${lit(p.column)}, { name: ${lit(p.name)} })`;
  if (p.op === 'timeSinceLast') return `timeSinceLast(source, { name: ${lit(p.name)}, unit: 'd'${where} })`;
  const column = p.column === null ? '' : `${lit(p.column)}, `;
  return `${BUILDER[p.op]}(source, ${column}{ name: ${lit(p.name)}, window: ${lit(p.window)}${where} })`;
}

function sourceDeclaration(source: SourceSpec, entity: EntitySpec): string[] {
  const opts = [
    `entity: ${ident(entity.name)}`, `table: ${lit(source.table)}`, `key: ${lit(source.key)}`, `timestamp: ${lit(source.timestamp)}`,
    ...(source.availableAt ? [`availableAt: ${lit(source.availableAt)}`] : []), ...(source.tiebreak ? [`tiebreak: ${lit(source.tiebreak)}`] : []),
    `columns: { ${Object.entries(source.columns).map(([c, t]) => `${c}: ${lit(t)}`).join(', ')} }`,
  ];
  return [
    `const ${ident(entity.name)} = entity(${lit(entity.name)}, { key: ${lit(entity.key)} });`,
    `const source = ${source.type === 'event' ? 'eventSource' : 'snapshotSource'}(${lit(source.name)}, {`,
    `  ${opts.join(', ')},`,
    '});',
  ];
}

const fmt = (x: number | null, d: number): string => (x === null ? '-' : x.toFixed(d));

/**
 * The module text for the selected candidates of a discovery run.
 * @example writeFileSync('discovered.ts', discoveredModule(result, source, entity, 'kiln features discover ...'))
 */
export function discoveredModule(result: DiscoverResult, source: SourceSpec, entity: EntitySpec, command: string): string {
  const selected = result.candidates.filter((c) => c.status === 'selected');
  const lines: string[] = [];
  const emitted = new Set<string>();
  const builders = new Set<string>(['entity', source.type === 'event' ? 'eventSource' : 'snapshotSource']);
  const body: string[] = [];
  const defined = new Set(result.defined);
  const operand = (name: string): string => (defined.has(name) ? `{ ref: ${lit(name)} }` : ident(name));
  const emit = (plan: Plan, doc: string | null, exported: boolean): void => {
    if (emitted.has(plan.name) || defined.has(plan.name)) return;
    emitted.add(plan.name);
    if (doc) body.push(`/** ${doc} */`);
    let call: string;
    if (plan.type === 'aggregate') { call = aggregateCall(plan); builders.add(BUILDER[plan.op]); }
    else {
      builders.add('derived'); builders.add('div');
      call = `derived(${lit(plan.name)}, ${plan.scale === 1 ? `div(${operand(plan.num.name)}, ${operand(plan.den.name)})` : `div(${operand(plan.num.name)}, div(${operand(plan.den.name)}, ${plan.scale}))`})`;
    }
    body.push(`${exported ? 'export ' : ''}const ${ident(plan.name)} = ${call};`);
  };
  for (const c of selected) {
    const plan = c.candidate.plan;
    if (plan.type === 'ratio') for (const p of planInputs(plan)) emit(p, null, false);
    if (c.defined) { body.push(`// ${c.name}: already defined in the config; add it to the model's features (${c.text}).`); continue; }
    emit(plan, `${c.text}. IV ${fmt(c.iv, 3)}, AUC ${fmt(c.auc, 3)}, validation AUC ${c.deltaAuc !== null && c.deltaAuc >= 0 ? '+' : ''}${fmt(c.deltaAuc, 4)}, max monthly PSI ${fmt(c.psiMax, 3)}, ~${c.stateBytes} B online state`, true);
  }
  // Inputs emitted before their own turn stay unexported helpers; export every selected one.
  const selectedNames = new Set(selected.map((c) => c.name));
  for (let i = 0; i < body.length; i++) {
    const m = /^const (\S+) = /.exec(body[i]!);
    if (m && selectedNames.has(m[1]!)) body[i] = `export ${body[i]}`;
  }
  lines.push(
    `/**`,
    ` * Features proposed by \`${command}\` for model '${result.model}' over source '${result.source}':`,
    ` * ${selected.length} selected of ${result.candidates.length} evaluated (validation AUC ${fmt(result.current.validAuc, 4)} with the current features,`,
    ` * ${fmt(result.selectedValidAuc, 4)} with these added). Add them to the config: features: [...yours, ...DISCOVERED].`,
    ` */`,
    `import { ${[...builders].sort().join(', ')} } from 'kiln';`,
    '',
    `// '${source.name}' as the config declares it: same table, key, times and column types, so the versions match.`,
    ...sourceDeclaration(source, entity),
    '',
    ...body,
    '',
    `/** The selected features and the inputs they read, in dependency order. */`,
    `export const DISCOVERED = [${[...emitted].map(ident).join(', ')}] as const;`,
    '',
  );
  return lines.join('\n');
}
