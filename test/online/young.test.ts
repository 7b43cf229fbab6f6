/**
 * The read path's objects start young even after a backfill and cached reads kept their kind alive: V8
 * pretenures object and array literal sites whose objects survive, and a read's short-lived objects made
 * old would keep the young objects they point to alive through every scavenge (see src/core/young.ts).
 * Run in a child process, as the check needs --allow-natives-syntax.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const probe = fileURLToPath(new URL('./fixtures/young-probe.ts', import.meta.url));

it('objects made by the read path are not pretenured after long-lived ones of their kind', () => {
  const child = spawnSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', probe], { encoding: 'utf8', timeout: 120_000 });
  const line = child.stdout.split('\n').find((l) => l.startsWith('@@result '));
  expect(child.status, child.stderr).toBe(0);
  const result = JSON.parse(line!.slice('@@result '.length)) as { controlPretenured: boolean; checked: string[]; old: string[] };
  expect(result.checked.length).toBeGreaterThanOrEqual(12);
  // (a literal site in the probe made to live long is pretenured in most runs: `controlPretenured`)
  expect(result.old, `old-generation objects (control literal pretenured: ${result.controlPretenured})`).toEqual([]);
}, 150_000);
