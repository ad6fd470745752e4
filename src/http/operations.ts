import type { ServerResponse } from 'node:http';
import { type DocumentNode, type GraphQLError, getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** The GraphQL operation a response answered, for the request log and /metrics. */
export interface OperationInfo {
  type: string;
  name: string | undefined;
  /** `ok`, or the first error's code. */
  outcome: string;
}

const operations = new WeakMap<ServerResponse, OperationInfo>();

export function recordOperation(res: ServerResponse, info: OperationInfo): void {
  operations.set(res, info);
}

export function operationOf(res: ServerResponse): OperationInfo | undefined {
  return operations.get(res);
}

export function describeOperation(
  document: DocumentNode,
  operationName: string | null | undefined,
  errors: readonly GraphQLError[] | undefined,
): OperationInfo {
  const op = getOperationAST(document, operationName);
  const code = errors?.[0]?.extensions?.code;
  return { type: op?.operation ?? 'unknown', name: op?.name?.value, outcome: errors?.length ? String(code ?? 'ERROR') : 'ok' };
}

/** Yoga's side of the same record: its server context carries the node response. */
export function useOperationInfo(): Plugin {
  return {
    onExecute({ args }) {
      const res = (args.contextValue as { res?: ServerResponse }).res;
      if (!res) return;
      return {
        onExecuteDone({ result }) {
          if (!('errors' in result) && !('data' in result)) return;
          const errors = (result as { errors?: readonly GraphQLError[] }).errors;
          recordOperation(res, describeOperation(args.document, args.operationName, errors));
        },
      };
    },
    // The outcome is the code clients see: errors are masked after onExecuteDone.
    onResultProcess({ result, serverContext }) {
      const res = (serverContext as { res?: ServerResponse }).res;
      const info = res && operationOf(res);
      const errors = !Array.isArray(result) && (result as { errors?: readonly GraphQLError[] }).errors;
      if (info && errors && errors.length > 0) info.outcome = String(errors[0]?.extensions?.code ?? 'ERROR');
    },
  };
}
