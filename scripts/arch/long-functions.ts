/**
 * Lists the functions, methods and arrow functions longer than N lines (default 80), longest first:
 * `lines file:line name`. A report, not a gate: it always exits 0 (2 only for a usage mistake).
 *
 *   node --import tsx scripts/arch/long-functions.ts [dir-or-file...] [--lines N]
 *
 * A function's length runs from its first line to its closing brace, inclusive; a nested function is
 * counted in its own right and also as part of the function around it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

interface LongFunction {
  readonly lines: number;
  readonly file: string;
  readonly line: number;
  readonly name: string;
}

function parseArgs(argv: readonly string[]): { roots: string[]; limit: number } {
  const roots: string[] = [];
  let limit = 80;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--lines' || arg === '-n') {
      limit = Number(argv[++i]);
    } else if (arg.startsWith('--lines=')) {
      limit = Number(arg.slice('--lines='.length));
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write('usage: long-functions.ts [dir-or-file...] [--lines N]   (default: src, 80)\n');
      process.exit(0);
    } else {
      roots.push(arg);
    }
  }
  if (!Number.isInteger(limit) || limit < 1) {
    process.stderr.write('long-functions: --lines takes a positive whole number\n');
    process.exit(2);
  }
  return { roots: roots.length > 0 ? roots : ['src'], limit };
}

function sourceFiles(root: string): string[] {
  if (statSync(root).isFile()) return [root];
  const files: string[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'dist') files.push(...sourceFiles(path));
    } else if (/\.(?:c|m)?tsx?$/.test(entry.name) && !/\.d\.(?:c|m)?ts$/.test(entry.name)) {
      files.push(path);
    }
  }
  return files;
}

function isFunctionLike(node: ts.Node): node is ts.FunctionLikeDeclaration {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isFunctionExpression(node) ||
    ts.isArrowFunction(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node)
  );
}

function textOf(name: ts.PropertyName | ts.BindingName, file: ts.SourceFile): string {
  return ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isPrivateIdentifier(name)
    ? name.text
    : name.getText(file);
}

/** A name a person can find the function by: its own, the variable or property it is assigned to, or the call it is passed to. */
function nameOf(node: ts.FunctionLikeDeclaration, file: ts.SourceFile): string {
  if (node.name) return textOf(node.name, file);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (
    ts.isVariableDeclaration(parent) ||
    ts.isPropertyAssignment(parent) ||
    ts.isPropertyDeclaration(parent)
  ) {
    return textOf(parent.name, file);
  }
  if (ts.isCallExpression(parent) || ts.isNewExpression(parent)) return `${callName(parent, file)} callback`;
  return '(anonymous)';
}

/**
 * A call as a person would search for it: `withContext()`, `app.get('/pipelines')`, and for a chain its
 * first call, then the one the function is passed to: `program.command('runs <pipeline>')….action()`.
 */
function callName(call: ts.CallExpression | ts.NewExpression, file: ts.SourceFile): string {
  const compact = (node: ts.Node) => node.getText(file).replace(/\s+/g, '');
  const label = (c: ts.CallExpression | ts.NewExpression): string => {
    const first = c.arguments?.[0];
    if (first && ts.isStringLiteralLike(first)) return `'${first.text}'`;
    return first && ts.isTemplateExpression(first) ? compact(first) : '';
  };
  let innermost: ts.CallExpression | ts.NewExpression = call;
  while (
    ts.isPropertyAccessExpression(innermost.expression) &&
    ts.isCallExpression(innermost.expression.expression)
  ) {
    innermost = innermost.expression.expression;
  }
  const head = `${compact(innermost.expression)}(${label(innermost)})`;
  if (innermost === call) return head;
  const method = ts.isPropertyAccessExpression(call.expression)
    ? call.expression.name.text
    : compact(call.expression);
  return `${head}….${method}()`;
}

function longFunctions(path: string, limit: number): LongFunction[] {
  const file = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: LongFunction[] = [];
  const visit = (node: ts.Node): void => {
    if (isFunctionLike(node) && node.body) {
      const first = file.getLineAndCharacterOfPosition(node.getStart(file)).line;
      const last = file.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = last - first + 1;
      if (lines > limit) {
        found.push({ lines, file: relative(process.cwd(), path), line: first + 1, name: nameOf(node, file) });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

const { roots, limit } = parseArgs(process.argv.slice(2));
const all = roots
  .flatMap(sourceFiles)
  .flatMap((path) => longFunctions(path, limit))
  .sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file) || a.line - b.line);
for (const f of all) process.stdout.write(`${String(f.lines).padStart(5)} ${f.file}:${f.line} ${f.name}\n`);
process.stdout.write(`${all.length} function(s) longer than ${limit} lines in ${roots.join(' ')}\n`);
