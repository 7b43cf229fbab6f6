/**
 * Triggers of the continuous-learning loop: cron schedules (UTC), drift alerts and newly matured labels,
 * turned into run starts by one pure decision with coalescing and a cooldown, shared by the live loop and
 * the backtest. See docs/loop.md, "Triggers".
 * @example
 * import { decideTrigger, nextRun, parseCron } from '../loop/triggers/index.js';
 * nextRun(parseCron('0 6 1 * *'), new Date('2025-01-15T00:00:00Z')); // 2025-02-01T06:00:00.000Z
 */
export { parseCron, nextRun, cronTimes, cronMatches, MAX_CRON_TIMES, type Cron } from './cron.js';
export {
  TriggerSpecSchema, parseTriggerSpec, decideTrigger, pendingRunDue, triggerEvents, DRIFT_SEVERITIES,
  type TriggerSpec, type TriggerSpecInput, type TriggerEvent, type TriggerState, type TriggerDecision, type TriggerSignals, type DriftSeverity,
} from './decide.js';
