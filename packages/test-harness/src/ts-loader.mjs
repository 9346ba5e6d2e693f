// Lets a child `node` run our TypeScript sources directly (tests spawn real worker processes without a
// build): workspace packages resolve through the `@illumera/source` condition, NodeNext `./x.js` specifiers
// map to `./x.ts`, and .ts is transpiled with the TypeScript compiler (no type check). See ts-hooks.mjs.
import { register } from 'node:module'

register('./ts-hooks.mjs', import.meta.url)
