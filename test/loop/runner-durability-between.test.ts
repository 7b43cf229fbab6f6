/** SIGKILL right after each step's output was committed: nothing re-runs, the next process goes on with the next step. */
import { describeKills, setupTemplate } from './durable-scenario.js';
import { STEPS } from './durable-loop.js';

setupTemplate();
describeKills('a run killed between steps resumes in a new process and promotes exactly once', STEPS.map((s) => ({ killAt: `after:${s}`, midStep: null })));
