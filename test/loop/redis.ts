/** Where the loop tests find Redis: KILN_REDIS_URL, else 127.0.0.1:6379 (availability: ../online/helpers.ts redisMode). */
import { REDIS_URL } from '../online/helpers.js';

export function redisConnection(): { host: string; port: number } {
  const u = new URL(REDIS_URL);
  return { host: u.hostname, port: Number(u.port || 6379) };
}
