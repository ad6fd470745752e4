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

// Kept on the response itself: a WeakMap entry per request made every minor GC walk its ephemerons.
const OPERATION = Symbol('sessionql.operation');
const REQUEST_ID = Symbol('sessionql.requestId');
type Noted = ServerResponse & { [OPERATION]?: OperationInfo; [REQUEST_ID]?: string };

export function recordOperation(res: ServerResponse, info: OperationInfo): void {
  (res as Noted)[OPERATION] = info;
}

export function operationOf(res: ServerResponse): OperationInfo | undefined {
  return (res as Noted)[OPERATION];
}

/** The request's id, for the `x-request-id` response header: whoever writes the head adds it (node-handler.ts). */
export function recordRequestId(res: ServerResponse, id: string): void {
  (res as Noted)[REQUEST_ID] = id;
}

/**
 * `headers` with `x-request-id` added when the request has one. Given in the
 * head's own object rather than by `res.setHeader` beforehand, which sends
 * node's `writeHead` down its slower path (every header set and checked twice).
 */
export function withRequestId<T extends Record<string, unknown>>(res: ServerResponse, headers: T): T {
  const id = (res as Noted)[REQUEST_ID];
  if (id !== undefined) (headers as Record<string, unknown>)['x-request-id'] = id;
  return headers;
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
    // A subscription is named in the request log line written when its stream ends (not in /metrics: a
    // stream's length is not an operation's duration).
    onSubscribe({ args }) {
      const res = (args.contextValue as { res?: ServerResponse }).res;
      if (res) recordOperation(res, describeOperation(args.document, args.operationName, undefined));
    },
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
