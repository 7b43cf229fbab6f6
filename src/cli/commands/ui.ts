import type { Command } from 'commander';
import { projectOption } from '../project-option.js';

/**
 * `kiln ui`: the web UI alone (docs/ui.md). Same binding rule as `kiln serve`: an address other than
 * loopback needs API keys (serve.apiKeys or $KILN_API_KEYS); with keys, every page needs one.
 */
export function registerUi(program: Command): void {
  program.command('ui').description('the web UI: runs, models, features, decisions, monitoring, embeddings, jobs (see docs/ui.md)')
    .option('--port <n>', 'port (default 8090; 0 picks a free one)', '8090')
    .option('--host <host>', 'address to bind (default 127.0.0.1; other than loopback needs API keys)', '127.0.0.1')
    .option('--queue <prefix>', 'the BullMQ key prefix of the jobs the Jobs screen shows (default kiln-backfill, as `kiln worker --backfill-queue`; Redis: $KILN_REDIS_URL, else redis://127.0.0.1:6379)')
    .action(async (flags: { port: string; host: string; queue?: string }, cmd: Command) => {
      const [{ Project }, serveMod, web] = await Promise.all([import('../../store/index.js'), import('../../serve/index.js'), import('../../ui/web/index.js')]);
      const project = await Project.open(projectOption(cmd));
      const port = Number(flags.port);
      const { KilnError } = await import('../../core/errors.js');
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new KilnError('USAGE', `--port ${flags.port}: expected an integer in [0, 65535]`);
      const settings = serveMod.serveSettings(project, {});
      const keys = new serveMod.ApiKeys(settings.apiKeys);
      if (!keys.enabled && !serveMod.isLoopback(flags.host)) {
        project.close();
        throw new KilnError('USAGE', `--host ${flags.host} is reachable from other machines, and no API keys are configured; add serve.apiKeys (kiln serve keygen) or bind to 127.0.0.1`);
      }
      const app = await web.createUiServer({ project, keys, ...(flags.queue ? { queue: { prefix: flags.queue } } : {}) });
      await app.listen({ port, host: flags.host });
      const addr = app.server.address();
      const bound = typeof addr === 'object' && addr ? addr.port : port;
      process.stderr.write(`kiln ui: ${project.config.name}: http://${flags.host.includes(':') ? `[${flags.host}]` : flags.host}:${bound}/ (${keys.enabled ? 'API keys required' : 'open, loopback only'})\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => { void app.close().then(() => { project.close(); resolve(); }); };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
