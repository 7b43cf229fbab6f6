/** `kiln loop simulate`: the loop on the simulated world, month by month, and what it achieved. */
export { simulateLoop, DEFAULT_SIM_TRIGGERS, type LoopSimOptions, type LoopSimResult, type MonthRow } from './run.js';
export { loopSimOutcome, type LoopSimOutcome, type CohortOutcome } from './outcome.js';
export { renderLoopSimReport, renderBacktestReport, RECOVERY_TARGET } from './report.js';
export { backtestLoop, FIXED_SCHEDULE, type BacktestOptions, type BacktestResult, type PolicyResult } from './backtest.js';
