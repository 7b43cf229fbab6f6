/** Whether a text is a redis:// or rediss:// URL (the online store's and the streams' Redis). */
export function isRedisUrl(s: string): boolean {
  if (!/^rediss?:\/\//.test(s)) return false;
  try {
    new URL(s);
    return true;
  } catch {
    return false;
  }
}
