/** What pipeline SQL may touch: the schemas it reads and writes, extra functions, and validate's bounds. */

export interface SqlPolicy {
  /** Schemas a source query may read. @default ['content', 'ugc'] */
  readonly sourceSchemas: readonly string[];
  /** Schemas a pipeline may write (targets, SQL steps). @default ['analytics'] */
  readonly targetSchemas: readonly string[];
  /** Functions allowed on top of the built-in allow-list (`name` or `schema.name`). @default [] */
  readonly extraFunctions?: readonly string[];
  /** How long validate may take, and the plan estimates beyond which a query is refused. @default DEFAULT_PLAN_LIMITS */
  readonly planLimits?: PlanLimits;
}

export interface PlanLimits {
  /** Statement timeout of validate's EXPLAIN and sample rows, and of the plan check on save. */
  readonly timeoutMs: number;
  /** Largest row estimate allowed at any node of the plan. */
  readonly maxRows: number;
  /** Largest total cost allowed for the plan. */
  readonly maxCost: number;
}

/** SIPHON_VALIDATE_TIMEOUT, SIPHON_SQL_MAX_ESTIMATED_ROWS and SIPHON_SQL_MAX_ESTIMATED_COST defaults. */
export const DEFAULT_PLAN_LIMITS: PlanLimits = { timeoutMs: 5_000, maxRows: 1e10, maxCost: 1e12 };

export const DEFAULT_SQL_POLICY: SqlPolicy = {
  sourceSchemas: ['content', 'ugc'],
  targetSchemas: ['analytics'],
  extraFunctions: [],
  planLimits: DEFAULT_PLAN_LIMITS,
};
