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

/** A field whose value is an area's, as readers see it (never writes). */
export function areaField(t: FieldBuilder, area: AnyArea, options: FieldOptions) {
  return t.field({ ...options, resolve: (_root: unknown, _args: unknown, ctx: unknown) => sessionOf(ctx).read(area) });
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
    resolve: async (_root: unknown, _args: unknown, ctx: unknown) => (await sessionOf(ctx).get(key)) ?? null,
  });
}
