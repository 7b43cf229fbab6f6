/**
 * API keys of `kiln serve`. A key is 32 random bytes (base64url, prefixed `kiln_`); only its SHA-256 is
 * kept (config `serve.apiKeys[].hash`, or hashed at start from $KILN_API_KEYS). A request's key is hashed
 * and its digest compared with every stored digest by `crypto.timingSafeEqual` (all of them, always, so
 * the time taken says nothing about which key nearly matched). Each key carries scopes: `score`, `write`,
 * `admin`; a route names the one it needs. Keys are never logged (the server redacts the headers).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { API_KEY_SCOPES, type ApiKeyScope } from '../config/index.js';
import { KilnError } from '../core/errors.js';

export type { ApiKeyScope } from '../config/index.js';
export { API_KEY_SCOPES } from '../config/index.js';

/** A stored key: who holds it, the digest of the key, its scopes. */
export interface ApiKeyEntry {
  readonly name: string;
  /** 'sha256:<64 hex>'. */
  readonly hash: string;
  readonly scopes: readonly ApiKeyScope[];
}

/** 'sha256:<hex>' of a key: what the config stores. */
export function hashApiKey(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

/** A new random key (256 bits): give it to its holder once, store only `hashApiKey(key)`. */
export function newApiKey(): string {
  return `kiln_${randomBytes(32).toString('base64url')}`;
}

function scopesOf(text: string, where: string): ApiKeyScope[] {
  const scopes = text.split(/[+|]/).map((s) => s.trim()).filter(Boolean);
  if (!scopes.length) throw new KilnError('CONFIG_INVALID', `${where}: no scopes; write KEY:score+write (scopes: ${API_KEY_SCOPES.join(', ')})`);
  for (const s of scopes) {
    if (!(API_KEY_SCOPES as readonly string[]).includes(s)) throw new KilnError('CONFIG_INVALID', `${where}: unknown scope '${s}'; scopes are ${API_KEY_SCOPES.join(', ')}`);
  }
  return scopes as ApiKeyScope[];
}

/**
 * Keys from $KILN_API_KEYS: `key:scope+scope,key2:scope`, plaintext, hashed here. Each is named `env#N`
 * (its position): the key itself is never shown.
 */
export function parseEnvApiKeys(text: string): ApiKeyEntry[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean).map((item, i) => {
    const where = `KILN_API_KEYS entry ${i + 1}`;
    const at = item.lastIndexOf(':');
    if (at <= 0) throw new KilnError('CONFIG_INVALID', `${where}: expected KEY:SCOPE+SCOPE (e.g. mykey:score+write), with no ':' missing`);
    const key = item.slice(0, at);
    if (key.length < 16) throw new KilnError('CONFIG_INVALID', `${where}: the key is ${key.length} characters; use at least 16 (kiln serve keygen makes one)`);
    return { name: `env#${i + 1}`, hash: hashApiKey(key), scopes: scopesOf(item.slice(at + 1), where) };
  });
}

/** What a request's key resolved to. */
export interface Caller {
  readonly name: string;
  readonly scopes: readonly ApiKeyScope[];
}

/** The server's keys, checked per request. */
export class ApiKeys {
  private readonly digests: { entry: ApiKeyEntry; digest: Buffer }[];

  constructor(entries: readonly ApiKeyEntry[]) {
    this.digests = entries.map((entry) => {
      if (!/^sha256:[0-9a-f]{64}$/.test(entry.hash)) throw new KilnError('CONFIG_INVALID', `API key '${entry.name}': hash must be 'sha256:' and 64 hex digits`);
      return { entry, digest: Buffer.from(entry.hash.slice(7), 'hex') };
    });
  }

  /** True when any key is configured (else the server is open and binds to loopback only). */
  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /** The key's holder, or null when no stored key matches. Compares against every key in constant time. */
  identify(key: string): Caller | null {
    const d = createHash('sha256').update(key, 'utf8').digest();
    let found: ApiKeyEntry | null = null;
    for (const x of this.digests) if (timingSafeEqual(d, x.digest) && !found) found = x.entry;
    return found ? { name: found.name, scopes: found.scopes } : null;
  }

  /**
   * Checks a request's headers for a key with `scope`: `Authorization: Bearer KEY` or `x-api-key: KEY`.
   * 401 UNAUTHORIZED without a key or with an unknown one; 403 FORBIDDEN when the key lacks the scope.
   */
  authorize(headers: { authorization?: string | undefined; 'x-api-key'?: string | string[] | undefined }, scope: ApiKeyScope): Caller {
    const auth = headers.authorization;
    const alt = headers['x-api-key'];
    let key: string | undefined;
    if (typeof auth === 'string' && auth !== '') {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
      if (!m) throw new KilnError('UNAUTHORIZED', "the Authorization header must be 'Bearer KEY'", { path: ['headers', 'authorization'] });
      key = m[1];
    } else if (typeof alt === 'string' && alt !== '') key = alt;
    if (key === undefined) throw new KilnError('UNAUTHORIZED', `this route needs an API key with scope '${scope}': send 'Authorization: Bearer KEY' (or 'x-api-key: KEY')`, { path: ['headers', 'authorization'] });
    const caller = this.identify(key);
    if (!caller) throw new KilnError('UNAUTHORIZED', 'the API key is not known to this server; check the key, or ask for one (kiln serve keygen)', { path: ['headers', 'authorization'] });
    if (!caller.scopes.includes(scope)) throw new KilnError('FORBIDDEN', `API key '${caller.name}' has scope ${caller.scopes.join(', ')}; this route needs '${scope}'`, { path: ['headers', 'authorization'] });
    return caller;
  }
}

/** True for an address only this machine reaches. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
