/** What global-setup.ts hands each test file through vitest's provide/inject. */
export interface TestDatabaseServer {
  /** URL of a maintenance database on the server (CREATE/DROP DATABASE run there). */
  adminUrl: string
  /** Name of the migrated template database. */
  template: string
}

declare module 'vitest' {
  export interface ProvidedContext {
    testDatabaseServer: TestDatabaseServer
  }
}
