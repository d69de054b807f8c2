/**
 * Node module hooks, registered after tsx by shared/runtime/tsx.ts when the compiled package loads a
 * user's TypeScript module. tsx treats a .ts file in a project without "type": "module" as CommonJS and
 * compiles its imports to require(); `require('tensorfleet')` would then go through tsx's CommonJS
 * transform of our ESM (a second copy of the library, and packages with import-only exports fail). A job is
 * an ES module by contract (`export default defineJob(...)`), so .ts/.tsx files outside node_modules load as
 * ES modules, as .mts files do; .cts files stay CommonJS.
 */

/** What a resolve hook receives and returns (node:module's ResolveHook, reduced to what is used). */
interface Resolved {
  url: string;
  format?: string | null | undefined;
  [key: string]: unknown;
}

/** Resolves through the next hook (tsx), then marks user .ts/.tsx files as ES modules. */
export async function resolve(
  specifier: string,
  context: unknown,
  nextResolve: (specifier: string, context: unknown) => Promise<Resolved>,
): Promise<Resolved> {
  const resolved = await nextResolve(specifier, context);
  if (resolved.format !== 'commonjs' || !resolved.url.startsWith('file:')) return resolved;
  const { pathname } = new URL(resolved.url);
  if (!/\.tsx?$/.test(pathname) || pathname.includes('/node_modules/')) return resolved;
  return { ...resolved, format: 'module' };
}
