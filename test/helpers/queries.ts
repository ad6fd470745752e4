import type { Database } from '../../src/engines/postgres/client.js';

/** The same database, recording the text of every statement the app runs through it. */
export function recordingDatabase(database: Database): { database: Database; statements: string[] } {
  const statements: string[] = [];
  return {
    statements,
    database: {
      ...database,
      query: (text, params, timeoutMs) => {
        statements.push(text);
        return database.query(text, params, timeoutMs);
      },
    },
  };
}
