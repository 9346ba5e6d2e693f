import type { AlignConnectionSettingsChangesTable } from './tables/align-connection-settings-changes.js'
import type { AlignConnectionsTable } from './tables/align-connections.js'
import type { AlignEntityLinksTable } from './tables/align-entity-links.js'
import type { AlignRateBudgetsTable } from './tables/align-rate-budgets.js'
import type { AlignReconciliationLogTable } from './tables/align-reconciliation-log.js'
import type { AlignReconciliationRunsTable } from './tables/align-reconciliation-runs.js'
import type { AlignSyncOutboxTable } from './tables/align-sync-outbox.js'
import type { AlignSyncRunsTable } from './tables/align-sync-runs.js'
import type { AlignWebhookDeliveriesTable } from './tables/align-webhook-deliveries.js'
import type { CompanyProfilesTable } from './tables/company-profiles.js'
import type { EngagementsTable } from './tables/engagements.js'
import type { InvoicesTable } from './tables/invoices.js'
import type { PersonProfilesTable } from './tables/person-profiles.js'
import type { ProjectSlotsTable } from './tables/project-slots.js'
import type { ProjectsTable } from './tables/projects.js'
import type { TenantsTable } from './tables/tenants.js'
import type { TimeEntriesTable } from './tables/time-entries.js'
import type { UsersTable } from './tables/users.js'

/** Every table, keyed by its SQL name. */
export interface Database {
  tenants: TenantsTable
  company_profiles: CompanyProfilesTable
  users: UsersTable
  person_profiles: PersonProfilesTable
  projects: ProjectsTable
  project_slots: ProjectSlotsTable
  engagements: EngagementsTable
  time_entries: TimeEntriesTable
  invoices: InvoicesTable
  align_connections: AlignConnectionsTable
  align_entity_links: AlignEntityLinksTable
  align_webhook_deliveries: AlignWebhookDeliveriesTable
  align_sync_outbox: AlignSyncOutboxTable
  align_reconciliation_log: AlignReconciliationLogTable
  align_rate_budgets: AlignRateBudgetsTable
  align_reconciliation_runs: AlignReconciliationRunsTable
  align_connection_settings_changes: AlignConnectionSettingsChangesTable
  align_sync_runs: AlignSyncRunsTable
}
