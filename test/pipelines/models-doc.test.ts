import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelSpecSchema } from '../../src/config/index.js';
import { DEFAULT_PARAMS } from '../../src/pipelines/index.js';

const DOC = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'models.md'), 'utf8');

/** The rows of the first Markdown table after a heading. */
function table(heading: string): string[][] {
  const start = DOC.indexOf(`\n## ${heading}\n`);
  expect(start, `docs/models.md has a '## ${heading}' section`).toBeGreaterThanOrEqual(0);
  const lines = DOC.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const l of lines.slice(first + 2)) {
    if (!l.startsWith('|')) break;
    rows.push(l.replace(/\\\|/g, '\u0000').split('|').slice(1, -1).map((c) => c.replace(/\u0000/g, '|').trim()));
  }
  return rows;
}

const value = (cell: string): unknown => {
  const bare = cell.replace(/`/g, '');
  return /^-?\d+(\.\d+)?$/.test(bare) ? Number(bare) : bare;
};

describe('docs/models.md', () => {
  it('lists exactly the training defaults of the code (DEFAULT_PARAMS)', () => {
    const documented = Object.fromEntries(table('Training defaults').map(([k, v]) => [k!.replace(/`/g, ''), value(v!)]));
    expect(documented).toEqual({ ...DEFAULT_PARAMS });
  });

  it('documents every field of a model spec', () => {
    const documented = table('Fields').map(([k]) => k!.replace(/`/g, ''));
    expect(documented.sort()).toEqual(Object.keys(ModelSpecSchema.shape).sort());
  });
});
