/**
 * The per-round steps around tree growing, run on the thread pool in fixed row blocks: gradients
 * (pointwise objectives; rank:ndcg works per query group on the calling thread), loading one class's
 * gradients for multi:softprob, and adding leaf values to the margins of each leaf's rows.
 */
import type { Objective } from './objectives.js';
import type { Region } from './arena.js';
import type { TaskPool } from './pool.js';
import type { LeafRange } from './grow.js';
import { TASK_CLASS, TASK_GRAD, TASK_INTS, TASK_MARGIN, type SharedName } from './tasks.js';
import type { TreeBuilder } from './tree.js';

/** Rows per gradient task (fixed, like every task split, so results never depend on the thread count). */
const ROW_BLOCK = 16384;

function plain(bytes: number): Region {
  const size = Math.max(bytes, 8);
  return { buf: new SharedArrayBuffer(size), byteOffset: 0, byteLength: size };
}

export class BoostSteps {
  private readonly K: number;
  private readonly n: number;

  /** `alloc` places margins and labels (in the kernels' memory, where the WebAssembly gradients read them). */
  constructor(private readonly pool: TaskPool, private readonly objective: Objective, private readonly groupPtr: Int32Array | null, label: Float32Array, weight: Float32Array | null, baseMargin: number, alloc: (bytes: number) => Region = plain) {
    const { nRows, nOutputs } = pool.state.config;
    this.n = nRows;
    this.K = nOutputs;
    const share = (name: SharedName, bytes: number): void => pool.share(name, plain(bytes));
    pool.share('margin', alloc(Math.max(nRows * nOutputs * 8, 8)));
    pool.share('label', alloc(Math.max(nRows * 4, 8)));
    pool.share('weight', weight ? plain(nRows * 4) : { buf: new SharedArrayBuffer(8), byteOffset: 0, byteLength: 0 });
    if (nOutputs > 1) {
      share('gradK', nRows * nOutputs * 4);
      share('hessK', nRows * nOutputs * 4);
    }
    const st = pool.state;
    st.margin.fill(baseMargin);
    st.label.set(label);
    if (weight) st.weight.set(weight);
  }

  get margin(): Float64Array {
    return this.pool.state.margin;
  }

  private ensureTasks(count: number): void {
    const st = this.pool.state;
    if (st.tasks.length >= count * TASK_INTS) return;
    const bytes = Math.max(count * TASK_INTS, st.tasks.length * 2) * 4;
    this.pool.share('tasks', { buf: new SharedArrayBuffer(bytes), byteOffset: 0, byteLength: bytes });
  }

  /** Row-block tasks of one kind (extra = the task's fourth word). */
  private rowTasks(kind: number, extra: number): void {
    const blocks = Math.ceil(this.n / ROW_BLOCK);
    this.ensureTasks(blocks);
    const T = this.pool.state.tasks;
    for (let b = 0; b < blocks; b++) {
      const o = b * TASK_INTS;
      T[o] = kind;
      T[o + 1] = b * ROW_BLOCK;
      T[o + 2] = Math.min(this.n, (b + 1) * ROW_BLOCK);
      T[o + 3] = extra;
    }
    this.pool.run(blocks);
  }

  /** Gradients and hessians for the current margins (into grad/hess, or gradK/hessK when K > 1). */
  gradients(): void {
    const st = this.pool.state;
    if (this.groupPtr) {
      this.objective.gradients({ margin: st.margin, label: st.label, weight: st.weight.length ? st.weight : null, grad: this.K === 1 ? st.grad : st.gradK, hess: this.K === 1 ? st.hess : st.hessK, nRows: this.n, nOutputs: this.K, scalePosWeight: st.config.scalePosWeight, groupPtr: this.groupPtr });
      return;
    }
    this.rowTasks(TASK_GRAD, 0);
  }

  /** Loads class k's gradients into grad/hess (multi:softprob). */
  loadClass(k: number): void {
    if (this.K > 1) this.rowTasks(TASK_CLASS, k);
  }

  /** margin[row, k] += leaf value for the rows of every leaf. */
  addLeaves(tree: TreeBuilder, leaves: LeafRange[], k: number): void {
    const st = this.pool.state;
    if (st.leafVals.length < leaves.length) this.pool.share('leafVals', plain(Math.max(leaves.length, 64) * 8));
    this.ensureTasks(leaves.length);
    const T = st.tasks;
    leaves.forEach((leaf, j) => {
      st.leafVals[j] = tree.leafValue[leaf.node]!;
      const o = j * TASK_INTS;
      T[o] = TASK_MARGIN;
      T[o + 1] = leaf.begin;
      T[o + 2] = leaf.end;
      T[o + 3] = j;
      T[o + 4] = k;
    });
    this.pool.runLocal(leaves.length);
  }
}
