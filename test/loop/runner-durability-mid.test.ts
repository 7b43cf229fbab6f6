/** SIGKILL in the middle of each step of the retrain loop (side effect done, output not committed): the step re-runs once, the alias moves once. */
import { describeKills, setupTemplate } from './durable-scenario.js';
import { STEPS } from './durable-loop.js';

setupTemplate();
describeKills('a run killed mid-step resumes in a new process and promotes exactly once', STEPS.map((s) => ({ killAt: s, midStep: s })));
