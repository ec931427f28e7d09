import { existsSync, readdirSync, readFileSync } from 'node:fs';

/**
 * CPU seconds spent by the processes of a load, read from Linux's /proc: this process (the runner,
 * and through `cutime`/`cstime` the shell pipelines it waited for), and each PostgreSQL server (its
 * postmaster's own time, the time of the backends it already reaped, and its live children's). A
 * load on a 2-core machine is bounded by the sum as much as by any one process, so the figures say
 * where the time of a load goes. Undefined where there is no /proc.
 */
export interface CpuSnapshot {
  readonly self: number;
  readonly children: number;
  readonly servers: readonly number[];
}

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux architecture Node supports

/** utime, stime, cutime, cstime of one process (seconds), or undefined once it has exited. */
function times(pid: number): [number, number, number, number] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: the fields after it start past its closing ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime is field 14 of the whole line: index 11 of the fields after the name.
    const [u, s, cu, cs] = [11, 12, 13, 14].map((i) => Number(fields[i]) / TICKS_PER_SECOND);
    return [u!, s!, cu!, cs!];
  } catch {
    return undefined;
  }
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** A server's CPU so far: the postmaster with its reaped backends, and the live ones. */
function serverSeconds(postmaster: number): number {
  const own = times(postmaster);
  if (!own) return 0;
  let total = own[0] + own[1] + own[2] + own[3];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || parentOf(pid) !== postmaster) continue;
    const child = times(pid);
    if (child) total += child[0] + child[1];
  }
  return total;
}

/** The postmaster of a backend (from `SELECT pg_backend_pid()`). */
export function postmasterOf(backendPid: number): number | undefined {
  return existsSync('/proc') ? parentOf(backendPid) : undefined;
}

export function cpuSnapshot(postmasters: readonly number[]): CpuSnapshot | undefined {
  const self = times(process.pid);
  if (!self) return undefined;
  return { self: self[0] + self[1], children: self[2] + self[3], servers: postmasters.map(serverSeconds) };
}

/** CPU seconds between two snapshots: the runner (this process), the shell tools, each server. */
export function cpuSpent(
  before: CpuSnapshot | undefined,
  after: CpuSnapshot | undefined,
  names: readonly string[],
): Record<string, number> | undefined {
  if (!before || !after) return undefined;
  const r = (x: number) => Math.round(x * 100) / 100;
  return {
    node: r(after.self - before.self),
    tools: r(after.children - before.children),
    ...Object.fromEntries(names.map((name, i) => [name, r(after.servers[i]! - before.servers[i]!)])),
  };
}
