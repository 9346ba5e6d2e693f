// The static list of migrations, in order. Add one with `pnpm db:migration:new <verb-noun>`; never edit a merged one.
import type { Migration } from 'kysely'
import * as createIllumeraDomainTables from './20261123T090000Z-create-illumera-domain-tables.js'
import * as createAlignTables from './20261123T090100Z-create-align-tables.js'
import * as createAlignRateBudgets from './20261123T091500Z-create-align-rate-budgets.js'
import * as createAlignReconciliationRuns from './20261123T093000Z-create-align-reconciliation-runs.js'
import * as addConnectionSyncSettings from './20261130T153419Z-add-connection-sync-settings.js'
import * as addAlignRateBudgetPacing from './20261130T182859Z-add-align-rate-budget-pacing.js'
import * as scopeOutboxForeignKeysAndIndexes from './20261130T184230Z-scope-outbox-foreign-keys-and-indexes.js'
import * as scopeTimeEntryForeignKeys from './20261130T184331Z-scope-time-entry-foreign-keys.js'
import * as tuneOutboxAutovacuum from './20261130T221811Z-tune-outbox-autovacuum.js'

export const migrations: Record<string, Migration> = {
  '20261123T090000Z-create-illumera-domain-tables': createIllumeraDomainTables,
  '20261123T090100Z-create-align-tables': createAlignTables,
  '20261123T091500Z-create-align-rate-budgets': createAlignRateBudgets,
  '20261123T093000Z-create-align-reconciliation-runs': createAlignReconciliationRuns,
  '20261130T153419Z-add-connection-sync-settings': addConnectionSyncSettings,
  '20261130T182859Z-add-align-rate-budget-pacing': addAlignRateBudgetPacing,
  '20261130T184230Z-scope-outbox-foreign-keys-and-indexes': scopeOutboxForeignKeysAndIndexes,
  '20261130T184331Z-scope-time-entry-foreign-keys': scopeTimeEntryForeignKeys,
  '20261130T221811Z-tune-outbox-autovacuum': tuneOutboxAutovacuum,
}
