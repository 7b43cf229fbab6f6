import type { Command } from 'commander';
import { KilnError } from '../../core/errors.js';
import { projectOption } from '../project-option.js';

const out = (s: string): void => { process.stdout.write(`${s}\n`); };

interface ServeCliFlags { port?: string; host?: string; models?: string; embeddings?: string; durability?: string; shapThread?: boolean; backend?: string; redisUrl?: string }

/**
 * `kiln serve`: opens the online store (when the config declares features), the embedding spaces and the
 * models (registry-backed, swapped when their alias moves) and the decision log, then serves until SIGTERM or SIGINT, which drain
 * requests in flight, flush the log and exit 0. `kiln serve keygen` makes an API key.
 */
export function registerServe(program: Command): void {
  const serve = program.command('serve').description('serve models over HTTP: decisions with reason codes, features, events, embedding look-ups (see docs/serving.md)')
    .option('--port <n>', 'port (default $KILN_SERVE_PORT, else serve.port, else 8080; 0 picks a free one)')
    .option('--host <host>', 'address to bind (default $KILN_SERVE_HOST, else serve.host, else 127.0.0.1; other than loopback needs API keys)')
    .option('--models <refs>', 'comma-separated model references to serve, e.g. credit@champion (default $KILN_SERVE_MODELS, else serve.models)')
    .option('--embeddings <refs>', "comma-separated embedding space references to serve, e.g. merchants@current, or 'none' (default $KILN_SERVE_EMBEDDINGS, else serve.embeddings, else every trained space at 'current', else its latest version)")
    .option('--durability <mode>', 'decision log: durable (answer once the record is on disk) or buffered (default $KILN_DECISION_DURABILITY, else serve.durability, else durable)')
    .option('--backend <name>', 'online store: embedded or redis (default $KILN_ONLINE_BACKEND, else online.backend, else embedded)')
    .option('--redis-url <url>', 'the Redis of the online store (default $KILN_REDIS_URL, else online.redisUrl)')
    .option('--no-shap-thread', 'compute TreeSHAP (reason codes, /explain) on the event loop instead of a worker thread per served GBDT version (default serve.shapThread, else a thread)')
    .option('--ui', 'also serve the web UI at /ui (with the same API keys: any key may look, admin may change)', false)
    .option('--queue <prefix>', "with --ui: the BullMQ key prefix of the jobs the UI's Jobs screen shows (default kiln-backfill; Redis: $KILN_REDIS_URL)")
    .option('--fma', "neural models: fused multiply-add in the WebAssembly kernels (relaxed SIMD, a V8 flag on Node 20): faster sequence models; scores differ from a plain build's in the last bits", false)
    .action(async (flags: ServeCliFlags & { fma?: boolean; ui?: boolean; queue?: string }, cmd: Command) => {
      if (flags.fma) {
        const { enableRelaxedSimd } = await import('../../nn/index.js');
        process.stderr.write(`kiln serve: neural kernels: ${enableRelaxedSimd() ? 'fused multiply-add (relaxed SIMD)' : 'plain SIMD (this runtime has no relaxed SIMD)'}\n`);
      }
      const [{ Project }, serveMod, onlineMod] = await Promise.all([import('../../store/index.js'), import('../../serve/index.js'), import('../../online/index.js')]);
      const project = await Project.open(projectOption(cmd));
      const opened: { close(): Promise<void> }[] = [];
      try {
        const settings = serveMod.serveSettings(project, { port: flags.port, host: flags.host, models: flags.models, embeddings: flags.embeddings, durability: flags.durability,
          shapThread: cmd.getOptionValueSource('shapThread') === 'cli' ? flags.shapThread : undefined });
        serveMod.checkBinding(settings);
        const online = project.config.features?.length
          ? await onlineMod.openOnlineStore(project, { ...(flags.backend !== undefined ? { backend: flags.backend } : {}), ...(flags.redisUrl !== undefined ? { redisUrl: flags.redisUrl } : {}) })
          : null;
        if (online) opened.push(online);
        const embeddings = await serveMod.openEmbeddingSet(project, settings.embeddings, { pollMs: settings.pollMs });
        opened.push(embeddings);
        // A server of embedding spaces, recommenders or search indexes alone serves no model; with none of
        // them, openModelSet says what to name.
        const others = embeddings.spaces().length + Object.keys(project.config.recommenders).length + Object.keys(project.config.search).length;
        const models = settings.models.length === 0 && others > 0 ? serveMod.fixedModelSet([])
          : await serveMod.openModelSet(project, settings.models, {
            pollMs: settings.pollMs, traffic: settings.traffic, shapThreads: settings.shapThread, ...(online ? { definitions: serveMod.servedFeatures(online.plan) } : {}),
          });
        opened.push(models);
        const decisions = await serveMod.openDecisionLog(serveMod.decisionLogOf(project), { durability: settings.durability, flushMs: settings.flushMs });
        opened.push(decisions);
        if (decisions.tookOver) process.stderr.write(`kiln serve: decision log: took over the writer lock of pid ${decisions.tookOver.pid} (since ${decisions.tookOver.since}), which no longer runs\n`);
        for (const t of decisions.recovered) process.stderr.write(`kiln serve: decision log: ${t.file} line ${t.line} was torn by a crash (${t.bytes} bytes, never acknowledged); readers skip it\n`);
        const running = await serveMod.startServer(project, settings, { models, embeddings, decisions, online, loadVersion: (ref: string) => serveMod.loadLiveVersion(project, ref), ui: flags.ui === true, ...(flags.queue ? { uiQueue: flags.queue } : {}) });
        opened.length = 0; // the running server closes them now
        await running.closed;
      } finally {
        for (const part of opened.reverse()) await part.close().catch(() => {});
        project.close();
      }
    });
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
