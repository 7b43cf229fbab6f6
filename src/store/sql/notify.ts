import pg from 'pg';
import type { PgLocation } from './open.js';

/**
 * Listens for the registry's notifications (`kiln_registry`, sent by the audit tables' insert triggers:
 * `<schema>:<table>:<id>`) of one schema, and calls `onChange` for each. The registry stays the truth:
 * a listener only says "look now"; the caller's polling goes on, so a dropped connection delays a swap
 * by at most one poll. A lost connection is re-opened after `retryMs`.
 */
export function listenRegistry(loc: PgLocation, onChange: (table: string) => void, opts: { retryMs?: number; log?: (line: string) => void } = {}): { close: () => Promise<void> } {
  let client: pg.Client | null = null;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  const prefix = `${loc.schema}:`;
  const connect = async (): Promise<void> => {
    if (closed) return;
    const c = new pg.Client({ connectionString: loc.url, application_name: `kiln listen ${process.pid}`, connectionTimeoutMillis: 15_000 });
    c.on('notification', (n) => {
      if (n.channel === 'kiln_registry' && n.payload?.startsWith(prefix)) onChange(n.payload.slice(prefix.length).split(':')[0]!);
    });
    const retry = (e: Error): void => {
      if (closed) return;
      opts.log?.(`registry notifications from PostgreSQL stopped (${e.message}); polling meanwhile, listening again in ${(opts.retryMs ?? 5000) / 1000} s`);
      client = null;
      c.removeAllListeners('error');
      c.on('error', () => undefined);
      void c.end().catch(() => undefined);
      timer ??= setTimeout(() => { timer = null; void connect(); }, opts.retryMs ?? 5000);
      timer.unref();
    };
    c.on('error', retry);
    try {
      await c.connect();
      await c.query('LISTEN kiln_registry');
      if (closed) { await c.end().catch(() => undefined); return; }
      client = c;
      // What moved while no one listened: look once.
      onChange('reconnect');
    } catch (e) {
      retry(e as Error);
    }
  };
  void connect();
  return {
    close: async () => {
      closed = true;
      if (timer) clearTimeout(timer);
      const c = client;
      client = null;
      if (c) await c.end().catch(() => undefined);
    },
  };
}
