/**
 * Checks sources against the offline store: tables, columns and types that definitions cannot know
 * about at compile time. Every problem is collected and reported at once.
 */
import { didYouMean } from '../../core/errors.js';
import type { Project } from '../../store/index.js';
import type { FeatureRegistry } from '../registry.js';
import type { SourceColumnType, SourceSpec } from '../spec.js';
import type { DefinitionIssue } from '../validate.js';
import { columnsRead } from '../version.js';

const INT = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/;
const FLOAT = /^(FLOAT|DOUBLE|REAL|DECIMAL(\(.*\))?)$/;
const TIME = /^(TIMESTAMP( WITH TIME ZONE)?|TIMESTAMP_(S|MS|NS)|DATE)$/;

/** Whether a store column of DuckDB type `actual` can be read as the declared type. */
export function typeFits(declared: SourceColumnType, actual: string): boolean {
  switch (declared) {
    case 'double': return INT.test(actual) || FLOAT.test(actual);
    case 'integer': case 'bigint': return INT.test(actual);
    case 'varchar': return actual === 'VARCHAR' || actual.startsWith('ENUM');
    case 'boolean': return actual === 'BOOLEAN';
    case 'timestamp': case 'date': return TIME.test(actual);
    default: return false;
  }
}

/** Problems of the given sources (or every source) against the store; empty when all fit. */
export async function checkSourcesAgainstStore(project: Project, registry: FeatureRegistry, only?: ReadonlySet<string>): Promise<DefinitionIssue[]> {
  const rows = await project.offline.all<{ t: string; c: string; type: string }>(
    `SELECT table_name AS t, column_name AS c, data_type AS type FROM duckdb_columns() WHERE schema_name = 'main' AND NOT starts_with(table_name, '__kiln')`);
  const tables = new Map<string, Map<string, string>>();
  for (const r of rows) {
    const cols = tables.get(r.t) ?? new Map<string, string>();
    cols.set(r.c, r.type);
    tables.set(r.t, cols);
  }
  const used = new Map<string, Set<string>>();
  for (const f of registry.features.values()) {
    if (f.spec.type !== 'aggregate') continue;
    const u = used.get(f.spec.source) ?? new Set<string>();
    for (const c of columnsRead(f.spec)) u.add(c);
    used.set(f.spec.source, u);
  }
  const issues: DefinitionIssue[] = [];
  for (const src of registry.sources.values()) {
    if (only && !only.has(src.name)) continue;
    issues.push(...checkSource(src, tables, used.get(src.name) ?? new Set()));
  }
  return issues;
}

function checkSource(src: SourceSpec, tables: ReadonlyMap<string, ReadonlyMap<string, string>>, used: ReadonlySet<string>): DefinitionIssue[] {
  const issues: DefinitionIssue[] = [];
  const at = (field: string, message: string): void => { issues.push({ path: ['source', src.name, field], message: `source '${src.name}': ${message}` }); };
  const cols = tables.get(src.table);
  if (!cols) {
    const h = didYouMean(src.table, tables.keys());
    at('table', `table '${src.table}' is not in the offline store${h ? `; did you mean '${h}'?` : ''} (tables: ${[...tables.keys()].join(', ') || 'none'}). Load it with 'kiln ingest' or 'kiln sim'`);
    return issues;
  }
  const names = [...cols.keys()];
  const exists = (c: string, role: string): string | undefined => {
    const t = cols.get(c);
    if (t === undefined) {
      const h = didYouMean(c, names);
      at(role, `table '${src.table}' has no ${role} column '${c}'${h ? `; did you mean '${h}'?` : ''} (columns: ${names.join(', ')})`);
    }
    return t;
  };
  exists(src.key, 'key');
  for (const role of ['timestamp', 'availableAt'] as const) {
    const c = src[role];
    if (c === null) continue;
    const t = exists(c, role);
    if (t !== undefined && !TIME.test(t)) at(role, `column '${c}' is ${t}; ${role} must be a TIMESTAMP or DATE column`);
  }
  for (const [c, declared] of Object.entries(src.columns)) {
    if (!used.has(c) && c !== src.tiebreak) continue;
    const t = exists(c, 'declared');
    if (t !== undefined && !typeFits(declared, t)) at('columns', `column '${c}' is declared ${declared} but the table has ${t}; fix the declaration`);
  }
  return issues;
}
