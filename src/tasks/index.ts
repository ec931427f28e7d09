export { TaskRegistry, defaultTaskRegistry } from './registry.js';
export type { CodeTask, CodeTaskContext } from './task-type.js';
export { listTasks, replaceTasks, type TaskRow, type TaskInput } from '../db/repositories/task.repository.js';
