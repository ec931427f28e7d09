import { z } from 'zod';
import { findNulCharacter, SiphonError } from './errors.js';
import { zodToSiphonError } from './pipeline-spec.schema.js';
import { orderTasks } from './task-order.js';

const taskSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,62}$/, 'must start with a letter: a-z, 0-9 and _ only')
      .meta({ description: "The step's name, unique in the pipeline." }),
    task_type: z.enum(['SQL', 'CODE']).meta({
      description:
        '`SQL`: one statement in `sql`, run as siphon_writer after the load (it may write only the target schemas). `CODE`: a registered TypeScript function named by `task_name`.',
    }),
    sql: z
      .string()
      .trim()
      .min(1)
      .max(100_000)
      .optional()
      .meta({ description: 'task_type `SQL`: the statement (checked by the SQL guard).' }),
    task_name: z.string().min(1).max(63).optional().meta({
      description: 'task_type `CODE`: a registered function (`analyze_target`, `refresh_film_rating_stats`).',
    }),
    params: z
      .record(z.string(), z.unknown())
      .default({})
      .meta({ description: 'task_type `CODE`: parameters handed to the function.' }),
    depends_on: z
      .array(z.string())
      .max(50)
      .default([])
      .meta({ description: 'Names of steps that must run first.' }),
    enabled: z.boolean().default(true).meta({ description: 'A disabled step is skipped.' }),
    position: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .optional()
      .meta({ description: 'Order among steps without dependencies (default: the list order).' }),
  })
  .strict()
  .superRefine((task, ctx) => {
    if (task.task_type === 'SQL' && !task.sql)
      ctx.addIssue({ code: 'custom', path: ['sql'], message: 'is required for a SQL task' });
    if (task.task_type === 'CODE' && !task.task_name) {
      ctx.addIssue({ code: 'custom', path: ['task_name'], message: 'is required for a CODE task' });
    }
  });

export const tasksSchema = z.array(taskSchema).max(100);

export interface TaskSpec {
  name: string;
  position: number;
  task_type: 'SQL' | 'CODE';
  sql: string | null;
  task_name: string | null;
  params: Record<string, unknown>;
  depends_on: string[];
  enabled: boolean;
}

/**
 * Validates a pipeline's steps: shape, unique names, known dependencies, no cycles, and (through
 * `isRegistered`) that every CODE task names a registered function.
 */
export function parseTaskSpecs(
  input: unknown,
  isRegistered: (name: string) => boolean,
  registered: readonly string[] = [],
): TaskSpec[] {
  const nul = findNulCharacter(input, ['tasks']);
  if (nul !== undefined) {
    throw new SiphonError('SIPHON_ERR_PIPELINE_INVALID', `${nul} contains a NUL character`, { field: nul });
  }
  const result = tasksSchema.safeParse(input);
  if (!result.success) throw zodToSiphonError(result.error, 'SIPHON_ERR_PIPELINE_INVALID', 'tasks');
  const tasks: TaskSpec[] = result.data.map((t, i) => ({
    name: t.name,
    position: t.position ?? i,
    task_type: t.task_type,
    sql: t.task_type === 'SQL' ? t.sql! : null,
    task_name: t.task_type === 'CODE' ? t.task_name! : null,
    params: t.params,
    depends_on: t.depends_on,
    enabled: t.enabled,
  }));
  orderTasks(tasks);
  for (const [i, t] of tasks.entries()) {
    if (t.task_type === 'CODE' && !isRegistered(t.task_name!)) {
      const field = `tasks.${i}.task_name`;
      throw new SiphonError(
        'SIPHON_ERR_TASK_UNKNOWN',
        `${field}: task "${t.name}" names the function "${t.task_name}", which is not a registered CODE task (registered: ${registered.join(', ') || 'none'})`,
        { field, details: { function: t.task_name, registered } },
      );
    }
  }
  return tasks;
}
