import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printSchemaFile } from '../../src/graphql/print.js';

const root = new URL('../../', import.meta.url);
const checker = new URL('../shared/contract/check.mjs', root);

describe('schema.graphql', () => {
  it('is what the Pothos schema prints (run `npm run schema:print` after a schema change)', () => {
    expect(readFileSync(new URL('schema.graphql', root), 'utf8')).toBe(printSchemaFile());
  });

  it.skipIf(!existsSync(checker))('keeps the whole public contract (../shared/contract/check.mjs)', () => {
    const out = execFileSync(process.execPath, [checker.pathname, 'schema.graphql'], { cwd: root, encoding: 'utf8' });
    expect(out).toMatch(/schema keeps the whole contract/);
  });
});
