import { SiphonError } from '../core/errors.js';
import { analyzeTarget } from './builtin/analyze-target.task.js';
import { refreshFilmRatingStats } from './builtin/refresh-film-rating-stats.task.js';
import type { CodeTask } from './task-type.js';

/** CODE tasks by name. Registered at build time; the registry cannot be extended through the API. */
export class TaskRegistry {
  readonly #tasks = new Map<string, CodeTask>();

  register(name: string, task: CodeTask): this {
    if (!/^[a-z][a-z0-9_.]{0,62}$/.test(name))
      throw new Error(`task name "${name}" is not a plain lower-case name`);
    if (this.#tasks.has(name)) throw new Error(`task "${name}" is registered twice`);
    this.#tasks.set(name, task);
    return this;
  }

  get(name: string): CodeTask {
    const task = this.#tasks.get(name);
    if (!task) {
      throw new SiphonError(
        'SIPHON_ERR_TASK_UNKNOWN',
        `CODE task "${name}" is not registered; known: ${[...this.#tasks.keys()].join(', ') || 'none'}`,
        { field: 'tasks' },
      );
    }
    return task;
  }

  has(name: string): boolean {
    return this.#tasks.has(name);
  }

  list(): Array<{ name: string; description: string }> {
    return [...this.#tasks].map(([name, task]) => ({ name, description: task.description }));
  }
}

/** The registry Siphon ships with. */
export function defaultTaskRegistry(): TaskRegistry {
  return new TaskRegistry()
    .register('analyze_target', analyzeTarget)
    .register('refresh_film_rating_stats', refreshFilmRatingStats);
}
