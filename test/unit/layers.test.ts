import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/process.js';

// Arrows point inward (../shared/DESIGN.md, docs/decisions/0012): the domain
// (src/core, src/areas) imports neither GraphQL nor a database driver nor the
// outer layers; core imports nothing of ours outside core.

function importsOf(dir: string): { file: string; specifier: string }[] {
  const out: { file: string; specifier: string }[] = [];
  for (const entry of readdirSync(path.join(repoRoot, dir), { recursive: true, encoding: 'utf8' })) {
    if (!entry.endsWith('.ts')) continue;
    const file = path.join(dir, entry);
    const text = readFileSync(path.join(repoRoot, file), 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) out.push({ file, specifier: m[1]! });
  }
  return out;
}

const outer = (specifier: string) => /(^|\/)(server|engines|graphql|http|yoga|pothos)(\/|\.js$)/.test(specifier);
const drivers = /^(graphql|graphql-yoga|@pothos\/|drizzle-orm|postgres$|@electric-sql\/|ioredis|prom-client)/;

describe('layers', () => {
  it.each(['src/core', 'src/areas'])('%s imports no GraphQL, no driver and no outer layer', (dir) => {
    const bad = importsOf(dir).filter(({ specifier }) => drivers.test(specifier) || (specifier.startsWith('.') && outer(specifier)));
    expect(bad).toEqual([]);
  });

  it('src/core imports nothing of ours outside src/core', () => {
    const bad = importsOf('src/core').filter(({ specifier }) => specifier.startsWith('../'));
    expect(bad).toEqual([]);
  });

  it('the server schema uses only the public entry points for sessions', () => {
    const bad = importsOf('src/graphql/types').filter(
      ({ specifier }) => specifier.startsWith('../../') && !['../../index.js', '../../pothos.js'].includes(specifier),
    );
    expect(bad).toEqual([]);
  });
});
