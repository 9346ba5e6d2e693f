// One vitest configuration for every package and service: sources resolved through the
// `@illumera/source` export condition (no build needed to test), a JSON report that
// scripts/test-summary.mjs adds up for CI, and, with `database: true`, the real-Postgres harness.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const root = path.dirname(fileURLToPath(import.meta.url))
const conditions = ['@illumera/source', 'module', 'node', 'development|production']

export interface TestConfigOptions {
  /** Start (or reuse via DATABASE_URL) PostgreSQL and migrate a template database once per run. */
  database?: boolean
}

export function testConfig(options: TestConfigOptions = {}) {
  return defineConfig({
    resolve: { conditions },
    ssr: { resolve: { conditions } },
    // vitest runs globalSetup files in its own `__vitest__` environment, which needs them too.
    environments: { __vitest__: { resolve: { conditions } } },
    test: {
      include: ['test/**/*.test.ts'],
      globalSetup: options.database ? [path.join(root, 'packages/test-harness/src/global-setup.ts')] : [],
      reporters: ['default', 'json'],
      outputFile: { json: 'test-results/vitest.json' },
      testTimeout: 30_000,
      hookTimeout: 120_000,
      pool: 'forks',
      env: { NODE_OPTIONS: '' },
    },
  })
}
