import { SiphonError } from './errors.js';

export interface OrderableTask {
  readonly name: string;
  readonly position: number;
  readonly depends_on: readonly string[];
}

/**
 * Execution order of a pipeline's steps: every task after the tasks it depends on, ties broken by
 * position. Unknown dependencies and cycles are configuration errors naming the task.
 */
export function orderTasks<T extends OrderableTask>(tasks: readonly T[]): T[] {
  const byName = new Map(tasks.map((t) => [t.name, t]));
  if (byName.size !== tasks.length) {
    const dup = tasks.find((t, i) => tasks.findIndex((u) => u.name === t.name) !== i)!;
    throw new SiphonError('SIPHON_ERR_PIPELINE_INVALID', `task name "${dup.name}" is used twice`, {
      field: 'tasks',
    });
  }
  for (const task of tasks) {
    for (const dep of task.depends_on) {
      if (!byName.has(dep)) {
        throw new SiphonError(
          'SIPHON_ERR_PIPELINE_INVALID',
          `task "${task.name}" depends on unknown task "${dep}"`,
          {
            field: 'tasks',
          },
        );
      }
    }
  }
  const ordered: T[] = [];
  const done = new Set<string>();
  const remaining = [...tasks].sort((a, b) => a.position - b.position || a.name.localeCompare(b.name));
  while (remaining.length > 0) {
    const index = remaining.findIndex((t) => t.depends_on.every((d) => done.has(d)));
    if (index < 0) {
      throw new SiphonError(
        'SIPHON_ERR_PIPELINE_INVALID',
        `tasks ${remaining.map((t) => `"${t.name}"`).join(', ')} depend on each other in a cycle`,
        { field: 'tasks' },
      );
    }
    const [next] = remaining.splice(index, 1);
    ordered.push(next!);
    done.add(next!.name);
  }
  return ordered;
}
