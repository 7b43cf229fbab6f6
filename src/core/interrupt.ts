/**
 * Safe interruption: the first Ctrl-C (SIGINT) or SIGTERM asks running work to stop at its next safe
 * point (staging tables are dropped, the previous state stays); a second one exits at once.
 */
export interface InterruptScope {
  readonly signal: AbortSignal;
  dispose(): void;
}

export function onInterrupt(onFirst?: () => void): InterruptScope {
  const ac = new AbortController();
  let count = 0;
  const handler = (sig: NodeJS.Signals): void => {
    count++;
    if (count === 1) {
      process.stderr.write(`\n${sig}: stopping at the next safe point (press Ctrl-C again to exit now)\n`);
      ac.abort(new Error(`interrupted by ${sig}`));
      onFirst?.();
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: ac.signal,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
