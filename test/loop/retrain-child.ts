/**
 * Child of retrain-crash.test.ts: opens the project in argv[2] and drives kiln's real retrain loop of
 * `credit` with the in-process runner: resumes the run a dead process left, or submits one (as of
 * AS_OF, forced). KILL_AT=<step> SIGKILLs this process right after that step's real `run` returned (its
 * side effects done, its output not committed); KILL_AT=before:<step> just before the real `run`;
 * KILL_AT=after:<step> right after the runner committed the step. Prints { resumed, run } as JSON.
 */
// The loop's parts, not src/loop/index.ts: a child loads less (the simulator of loops, BullMQ) at each start.
import { retrainLoop } from '../../src/loop/retrain/index.js';
import { InProcessRunner } from '../../src/loop/runner/in-process.js';
import { LoopStore } from '../../src/loop/runner/store.js';
import type { LoopDef } from '../../src/loop/runner/types.js';
import { Project } from '../../src/store/index.js';
import { AS_OF, MODEL } from './retrain-world.js';

const killAt = process.env.KILL_AT ?? '';
const die = (): never => { process.kill(process.pid, 'SIGKILL'); throw new Error('unreachable'); };

const project = await Project.open({ project: process.argv[2]! });
const real = retrainLoop(project, MODEL);
const def: LoopDef = {
  name: real.name,
  steps: real.steps.map((s) => ({
    ...s,
    run: async (ctx) => {
      if (killAt === `before:${s.name}`) die();
      const out = await s.run(ctx);
      if (killAt === s.name) die();
      return out;
    },
  })),
};
const store = new LoopStore(project.meta.db);
const runner = new InProcessRunner(store, { [def.name]: def }, {
  backoffBaseMs: 10,
  onStepEnd: (e) => { if (killAt === `after:${e.step}`) die(); },
});
const resumed = await runner.resume();
const id = resumed[0] ?? store.listRuns({ loop: def.name })[0]?.id ?? (await runner.submit(def.name, { asOf: AS_OF, force: true }, { kind: 'manual' }));
const run = await runner.runToEnd(id);
await runner.close();
project.close();
process.stdout.write(`${JSON.stringify({ resumed, run })}\n`);
