export { createTestDatabase, type TestDatabase, useTestDatabase } from './test-database.js'
export { databaseUrl } from './database-url.js'
export * from './factories.js'
export type { TestDatabaseServer } from './provided-context.js'
