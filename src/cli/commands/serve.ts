import type { Command } from 'commander';
import { KilnError } from '../../core/errors.js';

const out = (s: string): void => { process.stdout.write(`${s}\n`); };

/**
 * `kiln serve keygen`. (The `kiln serve` action itself, which opens the model set and the decision log
 * and calls `startServer`, is wired here once those parts are in.)
 */
export function registerServe(program: Command): void {
  const serve = program.command('serve').description('serve models over HTTP: decisions with reason codes, features, events (see docs/serving.md)');
  serve
    .command('keygen')
    .description('make an API key: prints the key once, and the config entry (serve.apiKeys) that stores only its hash')
    .option('--scopes <list>', 'comma-separated scopes: score, write, admin', 'score')
    .option('--name <name>', 'who holds the key (shown in logs and the audit log)', 'client')
    .option('--json', 'print JSON', false)
    .action(async (flags: { scopes: string; name: string; json: boolean }) => {
      const { API_KEY_SCOPES, hashApiKey, newApiKey } = await import('../../serve/auth.js');
      const scopes = flags.scopes.split(',').map((s) => s.trim()).filter(Boolean);
      const bad = scopes.find((s) => !(API_KEY_SCOPES as readonly string[]).includes(s));
      if (bad !== undefined || !scopes.length) throw new KilnError('USAGE', `--scopes: ${bad === undefined ? 'give at least one scope' : `unknown scope '${bad}'`}; scopes are ${API_KEY_SCOPES.join(', ')}`);
      if (!flags.name.trim()) throw new KilnError('USAGE', '--name must not be empty');
      const key = newApiKey();
      const entry = { name: flags.name, hash: hashApiKey(key), scopes };
      if (flags.json) { out(JSON.stringify({ key, entry }, null, 2)); return; }
      out(`key (shown once; give it to ${flags.name}, kiln keeps only its hash):\n  ${key}\n`);
      out(`add to serve.apiKeys in kiln.config.ts:\n  { name: ${JSON.stringify(entry.name)}, hash: '${entry.hash}', scopes: [${scopes.map((x) => `'${x}'`).join(', ')}] }\n`);
      out(`or, without the config: KILN_API_KEYS='${key}:${scopes.join('+')}'`);
    });
}
