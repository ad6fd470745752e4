import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from './schema.js';

/** schema.graphql's exact text: the schema sorted, so the file diffs cleanly. */
export function printSchemaFile(): string {
  return `# Printed from the Pothos schema by \`npm run schema:print\`; do not edit.\n# The public contract it keeps: ../shared/contract/session-api.graphql\n\n${printSchema(lexicographicSortSchema(schema))}\n`;
}
