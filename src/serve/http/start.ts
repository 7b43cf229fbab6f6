/**
 * Starting and stopping a server from parts already opened (the model set, the decision log, the online
 * store, the embedding spaces), so that the `kiln serve` action is a few lines: check the binding (no
 * keys: loopback only), listen, say how it is protected; stop: drain requests, flush the decision log,
 * close the models, the embedding spaces and the online store, in that order.
 */
import type { OnlineFeatureStore } from '../../online/index.js';
import type { Project } from '../../store/index.js';
import type { ServeSettings } from '../settings.js';
import type { DecisionWriter, LiveVersion, ModelSet } from '../types.js';
import type { EmbeddingSet } from '../spaces/set.js';
import { checkBinding, closeOnSignals, createServer, type KilnServer } from './server.js';

export interface StartDeps {
  readonly models: ModelSet;
  readonly decisions: DecisionWriter;
  readonly online: OnlineFeatureStore | null;
  /** The embedding spaces served (`openEmbeddingSet`); none when left out. */
  readonly embeddings?: EmbeddingSet;
  readonly loadVersion?: (ref: string) => LiveVersion | Promise<LiveVersion>;
  readonly logger?: boolean | Record<string, unknown>;
  /** Where the start and stop lines go (default stderr). */
  readonly log?: (line: string) => void;
  /** Install SIGTERM/SIGINT handlers that stop the server gracefully (default true). */
  readonly signals?: boolean;
  /** Mount the web UI at /ui. */
  readonly ui?: boolean;
  /** The BullMQ key prefix the UI's Jobs screen reads (default kiln-backfill). */
  readonly uiQueue?: string;
}

export interface RunningServer {
  readonly app: KilnServer;
  /** 'http://127.0.0.1:8080' */
  readonly url: string;
  /** Drains, flushes the decision log, closes the models, the embedding spaces and the online store. Idempotent. */
  close(): Promise<void>;
  /** Resolves once the server is closed (by `close()` or a signal). */
  readonly closed: Promise<void>;
}

export async function startServer(project: Project, settings: ServeSettings, deps: StartDeps): Promise<RunningServer> {
  const log = deps.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const protection = checkBinding(settings);
  const app = createServer({
    models: deps.models, decisions: deps.decisions, online: deps.online, settings, project, ...(deps.embeddings ? { embeddings: deps.embeddings } : {}),
    ...(deps.loadVersion ? { loadVersion: deps.loadVersion } : {}), ...(deps.logger !== undefined ? { logger: deps.logger } : {}), ...(deps.ui ? { ui: true } : {}), ...(deps.uiQueue ? { uiQueue: deps.uiQueue } : {}),
  });
  await app.listen({ port: settings.port, host: settings.host });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : settings.port;
  const url = `http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${port}`;
  const spaces = deps.embeddings?.spaces() ?? [];
  log(`kiln serve: ${project.config.name}: listening on ${url} (${deps.models.names().join(', ') || 'no models'}${spaces.length ? `; embeddings ${spaces.join(', ')}` : ''}; decision log ${settings.durability})`);
  log(`kiln serve: ${protection}`);
  if (deps.ui) log(`kiln serve: web UI at ${url}/ui/`);
  let done: (() => void) | undefined;
  const closed = new Promise<void>((resolve) => { done = resolve; });
  let closing: Promise<void> | null = null;
  let removeSignals = (): void => {};
  const close = (): Promise<void> => {
    closing ??= (async () => {
      removeSignals();
      try {
        await app.close();
      } finally {
        await deps.models.close();
        await deps.embeddings?.close();
        await deps.online?.close();
        done!();
      }
    })();
    return closing;
  };
  if (deps.signals ?? true) removeSignals = closeOnSignals(close, log);
  return { app, url, close, closed };
}
