/**
 * Child of runner-durability-{mid,between}.test.ts: opens the project in argv[2], resumes the retrain run a dead
 * process left (or submits one), and drives it to the end. KILL_AT=<step> SIGKILLs this process in the
 * middle of that step (its side effect done, its output not committed); KILL_AT=after:<step> right after
 * the step's output was committed. Prints the final run as JSON.
 */
import { InProcessRunner } from '../../src/loop/runner/in-process.js';
import { LoopStore } from '../../src/loop/runner/store.js';
import { Project } from '../../src/store/index.js';
import { prepare, retrainLoop } from './durable-loop.js';

const killAt = process.env.KILL_AT ?? '';
const die = (): never => { process.kill(process.pid, 'SIGKILL'); throw new Error('unreachable'); };

const project = await Project.open({ project: process.argv[2]! });
prepare(project);
const store = new LoopStore(project.meta.db);
const loop = retrainLoop(project, (step) => { if (killAt === step) die(); });
const runner = new InProcessRunner(store, { retrain: loop }, {
  backoffBaseMs: 10,
  onStepEnd: (e) => { if (killAt === `after:${e.step}`) die(); },
});
const resumed = await runner.resume();
const id = resumed[0] ?? store.listRuns({ loop: 'retrain' })[0]?.id ?? (await runner.submit('retrain', { model: 'credit' }, { kind: 'manual' }));
const run = await runner.runToEnd(id);
await runner.close();
project.close();
process.stdout.write(`${JSON.stringify({ resumed, run })}\n`);
