// Prints the Pothos schema to schema.graphql (committed; test/api/schema.test.ts fails on drift).
import { writeFileSync } from 'node:fs';
import { printSchemaFile } from '../../graphql/print.js';

const out = new URL('../../../schema.graphql', import.meta.url);
writeFileSync(out, printSchemaFile());
console.log(`wrote ${out.pathname}`);
