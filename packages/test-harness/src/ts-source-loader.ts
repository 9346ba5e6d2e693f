/**
 * `node --import <this URL> src/main.ts` runs a service from its TypeScript sources, so tests can spawn
 * real processes (kill -9, two replicas, exit codes) without a build. See ts-loader.mjs.
 */
export const tsSourceLoaderUrl: string = new URL('./ts-loader.mjs', import.meta.url).href
