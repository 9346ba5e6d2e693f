// Connecting a company to Align, rotating its key or webhook subscription, and disconnecting.
//
// Glossary
// - path token: random, unguessable segment of the webhook URL we register (…/api/webhooks/align/<token>),
//   so an inbound delivery names its connection before its signature is checked.
// - hmacSecret: returned by Align once, when a subscription is created; encrypted at once, bound to the row.
// - grace period: after a re-subscription the previous secret stays valid for WEBHOOK_SECRET_GRACE_SECONDS,
//   so deliveries Align signed with it before the switch are still accepted.
//
// Align calls happen outside any database transaction. Whatever Align created before a later step
// failed is deleted again (compensation), so a failed request leaves neither a row nor a subscription.
import { randomBytes, randomUUID } from 'node:crypto'
import {
  AlignApiError, AlignAuthError, AlignGateway, AlignNotFoundError, type AlignMe, type AlignWebhookSubscription,
} from '@illumera/align-gateway'
import { type AlignConnection, type AlignSyncRun, type Database, pushesToAlign } from '@illumera/db-schema'
import { badRequest, conflict, decryptConnectionSecret, encryptConnectionSecret, HttpError, notFound, type SecretBox } from '@illumera/service-kit'
import type { FastifyBaseLogger } from 'fastify'
import type { Kysely, Transaction } from 'kysely'
import type { AlignSettings } from '../app.js'
import { isUniqueViolation } from '../http/pg-errors.js'
import type { CompanyScope } from '../projects/projects.queries.js'
import { type BackfillCounts, runBackfill } from '../sync/backfill.js'
import { type ResyncCounts, runResync } from '../sync/resync.js'
import { applySettingsPatch, checkSettingsPatch, type SettingsPatch, settingsOf, writeSyncSettings } from './connection-settings.js'
import { findLiveConnection, insertConnection, lockConnection, updateConnection } from './connections.queries.js'

/** Every event of the reference's Webhook Event Catalog: unhandled ones are still recorded by the ingest. */
export const WEBHOOK_EVENT_NAMES = [
  'time.approved', 'time.rejected', 'time.locked', 'time.invoiced', 'time.unlocked', 'time.deleted',
  'time.logged', 'time.submitted', 'time.updated',
  'project_member.added', 'project_member.updated', 'project_member.removed',
  'user.invited', 'user.linked', 'user.updated',
  'wiki_page.created', 'wiki_page.updated',
  'integration_link.created', 'integration_link.updated',
  'invoice.paid', 'invoice.finalized',
]

export const WEBHOOK_DESCRIPTION = 'Illumera integration'

export interface ConnectionContext {
  db: Kysely<Database>
  secretBox: SecretBox
  align: AlignSettings
  log: FastifyBaseLogger
  now: () => Date
}

function gatewayFor(ctx: ConnectionContext, apiKey: string): AlignGateway {
  return new AlignGateway({ ...ctx.align.gatewayOptions, apiKey, baseUrl: ctx.align.baseUrl })
}

/** Align's failures as our HTTP errors; the message never carries the key. */
function alignFailure(err: unknown, step: string): never {
  if (err instanceof AlignAuthError) throw badRequest('Align rejected the API key', 'align_key_rejected')
  if (err instanceof AlignApiError) {
    throw new HttpError(502, 'align_unavailable', `Align failed while ${step} (HTTP ${err.status || 'no response'}, ${err.code}); nothing was changed, try again`)
  }
  throw err
}

async function verifyOrganizationKey(ctx: ConnectionContext, gateway: AlignGateway): Promise<AlignMe> {
  let me: AlignMe
  try {
    me = await gateway.getMe()
  } catch (err) {
    alignFailure(err, 'checking the API key')
  }
  if (me.scope !== 'organization') throw badRequest('an organization-scoped Align API key is required (this key is project-scoped)', 'project_scoped_key')
  return me
}

async function createSubscription(ctx: ConnectionContext, gateway: AlignGateway, connectionId: string, pathToken: string): Promise<AlignWebhookSubscription> {
  try {
    return await gateway.createWebhook(
      { destinationUrl: webhookUrl(ctx, pathToken), eventNames: WEBHOOK_EVENT_NAMES, description: WEBHOOK_DESCRIPTION },
      // A retry after a dropped answer replays instead of creating a second subscription.
      { idempotencyKey: `webhook:${connectionId}:${randomUUID()}` },
    )
  } catch (err) {
    alignFailure(err, 'creating the webhook subscription')
  }
}

/** Best effort: a subscription we could not delete is logged with its id (never its secret). */
async function deleteSubscription(ctx: ConnectionContext, gateway: AlignGateway, subscriptionId: string): Promise<boolean> {
  try {
    await gateway.deleteWebhook(subscriptionId)
    return true
  } catch (err) {
    if (err instanceof AlignNotFoundError) return true
    ctx.log.error({ subscriptionId, status: err instanceof AlignApiError ? err.status : undefined }, 'could not delete an Align webhook subscription')
    return false
  }
}

function webhookUrl(ctx: ConnectionContext, pathToken: string): string {
  return `${ctx.align.webhookBaseUrl}/api/webhooks/align/${pathToken}`
}

function lastFour(apiKey: string): string {
  return apiKey.slice(-4)
}

/** Who asks: the company and the acting user (users.id, the token's subject) for the audit trail. */
export type Actor = CompanyScope & { userId: string }

/**
 * Connects the company. Unless `backfill` is false, the initial sync (a backfill of existing projects, users,
 * members and entries) is enqueued in the same transaction, so it starts at once; the connection status
 * shows its progress. Settings given here apply from the start (an inbound-only connection has no initial sync).
 */
export async function connectCompany(
  ctx: ConnectionContext, actor: Actor, input: { apiKey: string; backfill: boolean; settings?: SettingsPatch | undefined },
): Promise<{ connection: AlignConnection; backfill: BackfillCounts | null; initialSync: AlignSyncRun | null }> {
  const scope = actor
  const alreadyConnected = () => conflict(`company ${scope.companyId} already has an Align connection; rotate it with PATCH or disconnect it first`, 'already_connected')
  if (input.settings) checkSettingsPatch(input.settings)
  if (await findLiveConnection(ctx.db, scope)) throw alreadyConnected()

  const gateway = gatewayFor(ctx, input.apiKey)
  const me = await verifyOrganizationKey(ctx, gateway)
  const id = randomUUID()
  const pathToken = randomBytes(24).toString('base64url')
  const subscription = await createSubscription(ctx, gateway, id, pathToken)
  try {
    return await ctx.db.transaction().execute(async (trx) => {
      const connection = await insertConnection(trx, {
        id, tenant_id: scope.tenantId, company_id: scope.companyId,
        encrypted_api_key: encryptConnectionSecret(ctx.secretBox, id, 'encrypted_api_key', input.apiKey),
        key_last_four: lastFour(input.apiKey), align_org_id: me.organizationId, align_key_scope: me.scope,
        webhook_subscription_id: subscription.id,
        webhook_secret: encryptConnectionSecret(ctx.secretBox, id, 'webhook_secret', subscription.hmacSecret),
        webhook_url: subscription.destinationUrl, webhook_path_token: pathToken, status: 'active', api_key_created_at: ctx.now(),
      })
      const configured = input.settings
        ? (await writeSyncSettings(trx, connection, applySettingsPatch(settingsOf(connection), input.settings), actor.userId, ctx.now())).connection
        : connection
      if (!input.backfill || !pushesToAlign(configured.sync_direction)) return { connection: configured, backfill: null, initialSync: null }
      const initial = await runBackfill(trx, { ...scope, connectionId: id }, 'initial_sync', actor.userId)
      return { connection: configured, backfill: initial.counts, initialSync: initial.run }
    })
  } catch (err) {
    await deleteSubscription(ctx, gateway, subscription.id)
    // The partial unique index: another request connected this company meanwhile.
    if (isUniqueViolation(err)) throw alreadyConnected()
    throw err
  }
}

export async function updateConnectionSettings(
  ctx: ConnectionContext, scope: CompanyScope, input: { apiKey?: string | undefined; resubscribe?: boolean | undefined },
): Promise<AlignConnection> {
  const current = await findLiveConnection(ctx.db, scope)
  if (!current) throw notFound('Align connection of company', scope.companyId)

  let apiKey: string
  if (input.apiKey !== undefined) {
    apiKey = input.apiKey
    const me = await verifyOrganizationKey(ctx, gatewayFor(ctx, apiKey))
    if (me.organizationId !== current.align_org_id) {
      throw badRequest(`the new API key belongs to another Align organization (${me.organizationId}, connected: ${current.align_org_id}); disconnect and connect again instead`, 'organization_mismatch')
    }
  } else {
    apiKey = decryptConnectionSecret(ctx.secretBox, current.id, 'encrypted_api_key', current.encrypted_api_key)
  }
  const gateway = gatewayFor(ctx, apiKey)
  const pathToken = current.webhook_path_token ?? randomBytes(24).toString('base64url')
  const subscription = input.resubscribe ? await createSubscription(ctx, gateway, current.id, pathToken) : null

  let updated: AlignConnection
  try {
    updated = await ctx.db.transaction().execute(async (trx) => {
      const row = await lockConnection(trx, current.id)
      if (!row || row.status === 'disconnected') throw notFound('Align connection of company', scope.companyId)
      if (subscription && row.webhook_subscription_id !== current.webhook_subscription_id) {
        throw conflict('the webhook subscription changed meanwhile (another PATCH); try again', 'concurrent_update')
      }
      const now = ctx.now()
      return updateConnection(trx, row.id, {
        ...(input.apiKey !== undefined
          ? {
              encrypted_api_key: encryptConnectionSecret(ctx.secretBox, row.id, 'encrypted_api_key', apiKey),
              key_last_four: lastFour(apiKey), api_key_created_at: now,
              ...(row.status === 'error' ? { status: 'active' as const } : {}),
            }
          : {}),
        ...(subscription
          ? {
              webhook_subscription_id: subscription.id, webhook_url: subscription.destinationUrl, webhook_path_token: pathToken,
              webhook_secret: encryptConnectionSecret(ctx.secretBox, row.id, 'webhook_secret', subscription.hmacSecret),
              // The old secret moves column, so it is re-encrypted under the new column's binding.
              previous_webhook_secret: row.webhook_secret === null ? null : encryptConnectionSecret(
                ctx.secretBox, row.id, 'previous_webhook_secret', decryptConnectionSecret(ctx.secretBox, row.id, 'webhook_secret', row.webhook_secret),
              ),
              previous_webhook_secret_expires_at: row.webhook_secret === null ? null : new Date(now.getTime() + ctx.align.webhookSecretGraceSeconds * 1000),
            }
          : {}),
      })
    })
  } catch (err) {
    if (subscription) await deleteSubscription(ctx, gateway, subscription.id)
    if (isUniqueViolation(err)) throw conflict(`company ${scope.companyId} already has an active Align connection`, 'already_connected')
    throw err
  }
  // Only now is the old subscription unused; its deliveries still verify during the grace period.
  if (subscription && current.webhook_subscription_id) await deleteSubscription(ctx, gateway, current.webhook_subscription_id)
  return updated
}

/**
 * Disconnect: the Align subscription is deleted, the row becomes `disconnected`, its secrets are cleared.
 * Outbox rows stay (the worker skips connections that are not active); nothing in Align is deleted.
 */
export async function disconnectCompany(ctx: ConnectionContext, scope: CompanyScope): Promise<AlignConnection> {
  const current = await findLiveConnection(ctx.db, scope)
  if (!current) throw notFound('Align connection of company', scope.companyId)
  if (current.webhook_subscription_id) {
    const apiKey = decryptConnectionSecret(ctx.secretBox, current.id, 'encrypted_api_key', current.encrypted_api_key)
    try {
      await gatewayFor(ctx, apiKey).deleteWebhook(current.webhook_subscription_id)
    } catch (err) {
      // Already gone, or the key is revoked (then Align will not deliver with it either): disconnect anyway.
      if (err instanceof AlignAuthError) ctx.log.warn({ connectionId: current.id }, 'Align refused the key while deleting the webhook subscription; disconnecting anyway')
      else if (!(err instanceof AlignNotFoundError)) alignFailure(err, 'deleting the webhook subscription')
    }
  }
  return ctx.db.transaction().execute(async (trx) => {
    const row = await lockConnection(trx, current.id)
    if (!row || row.status === 'disconnected') throw notFound('Align connection of company', scope.companyId)
    return updateConnection(trx, row.id, {
      status: 'disconnected', webhook_secret: null, previous_webhook_secret: null, previous_webhook_secret_expires_at: null,
    })
  })
}

/** The company's active connection, locked, when it pushes to Align; else a 409 saying why not. */
async function lockOutboundConnection(trx: Transaction<Database>, scope: CompanyScope, what: string): Promise<AlignConnection> {
  const live = await findLiveConnection(trx, scope)
  const row = live && await lockConnection(trx, live.id)
  if (!row || row.status !== 'active') throw conflict(`company ${scope.companyId} has no active Align connection`, 'not_connected')
  if (!pushesToAlign(row.sync_direction)) {
    throw conflict(`the connection's sync direction is ${row.sync_direction}: nothing is pushed to Align, so there is nothing to ${what}; change syncDirection with PATCH /api/align/connections/settings first`, 'outbound_sync_off')
  }
  return row
}

export async function backfillCompany(ctx: ConnectionContext, actor: Actor): Promise<BackfillCounts> {
  return ctx.db.transaction().execute(async (trx) => {
    const row = await lockOutboundConnection(trx, actor, 'backfill')
    return (await runBackfill(trx, { ...actor, connectionId: row.id }, 'backfill', actor.userId)).counts
  })
}

/** Re-enqueues every linked entity that carries a mapped field, so Align's records take the current mappings. */
export async function resyncCompany(ctx: ConnectionContext, actor: Actor): Promise<{ counts: ResyncCounts; run: AlignSyncRun }> {
  return ctx.db.transaction().execute(async (trx) => {
    const row = await lockOutboundConnection(trx, actor, 'resync')
    return runResync(trx, { ...actor, connectionId: row.id }, actor.userId)
  })
}
