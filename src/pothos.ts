/**
 * sessionql/pothos: session-backed fields for a Pothos schema, without
 * resolvers written by hand. The context must carry `session` (useSessions
 * from sessionql/yoga puts it there).
 *
 *   builder.queryFields((t) => ({ wishlist: areaField(t, wishlist, { type: ['String'] }) }));
 *   builder.mutationFields((t) => ({
 *     addToWishlist: areaMutation(t, wishlist, 'add', { type: ['String'], args: { sku: t.arg.string({ required: true }) } }),
 *   }));
 */
import type { Area } from './core/area.js';
import type { Session } from './core/session.js';

/** What the helpers need from the GraphQL context. */
export interface SessionContext {
  readonly session: Session;
}

type AnyArea = Area<any, any, any, any>;
/** A Pothos field builder of any kind (`t` of queryFields, mutationFields, an object's fields). */
type FieldBuilder = { field(options: any): any };

export interface FieldOptions {
  /** The Pothos output type (a ref, a scalar name, a list of either). */
  readonly type: unknown;
  readonly description?: string;
  readonly nullable?: boolean;
}

const sessionOf = (ctx: unknown): Session => {
  const session = (ctx as Partial<SessionContext>).session;
  if (!session) throw new Error('ctx.session is missing: add useSessions() from sessionql/yoga to the Yoga server');
  return session;
};

/**
 * The extension that marks a field as reading the caller's session. A query
 * with such a root field has the session read before it executes (the fast
 * path's preload), so that the fields resolve synchronously, without a
 * promise each (docs/decisions/0018). The helpers below set it; a
 * hand-written resolver may too: `extensions: READS_SESSION`, resolving
 * `ctx.session.loadedNow() ?? ctx.session.load()`.
 */
export const READS_SESSION = Object.freeze({ sessionqlReadsSession: true });

/** Whether a field carries {@link READS_SESSION}. */
export const readsSession = (extensions: Readonly<Record<string, unknown>> | null | undefined): boolean =>
  extensions?.sessionqlReadsSession === true;

/** A field whose value is an area's, as readers see it (never writes). */
export function areaField(t: FieldBuilder, area: AnyArea, options: FieldOptions) {
  return t.field({
    ...options,
    extensions: READS_SESSION,
    resolve: (_root: unknown, _args: unknown, ctx: unknown) => {
      const session = sessionOf(ctx);
      const now = session.loadedNow();
      return now ? area.read(now.data) : session.read(area);
    },
  });
}

/**
 * A mutation running one operation of an area: its arguments (mapped by
 * `input`, default: as they come) go to the operation's input check, and the
 * field returns the operation's result. Atomic on every engine.
 */
export function areaMutation<A extends AnyArea>(
  t: FieldBuilder,
  area: A,
  operation: keyof A['operations'] & string,
  options: FieldOptions & {
    readonly args?: Record<string, unknown>;
    readonly input?: (args: Record<string, unknown>) => unknown;
  },
) {
  const { input = (args: Record<string, unknown>) => args, ...field } = options;
  return t.field({
    ...field,
    resolve: (_root: unknown, args: Record<string, unknown>, ctx: unknown) => sessionOf(ctx).apply(area, operation, input(args) as never),
  });
}

/** A field reading one plain session key (`session.get(key)`), null when absent. */
export function sessionValueField(t: FieldBuilder, key: string, options: FieldOptions) {
  return t.field({
    nullable: true,
    ...options,
    extensions: READS_SESSION,
    resolve: (_root: unknown, _args: unknown, ctx: unknown) => {
      const session = sessionOf(ctx);
      const now = session.loadedNow();
      if (now) return Object.hasOwn(now.data, key) ? (now.data[key] ?? null) : null;
      return session.get(key).then((value) => value ?? null);
    },
  });
}
