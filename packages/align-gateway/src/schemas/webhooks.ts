import { Type, type Static } from '@sinclair/typebox'
import { Nullable } from './common.js'

export const AlignCreateWebhookInputSchema = Type.Object({
  destinationUrl: Type.String({ minLength: 1 }),
  eventNames: Type.Array(Type.String(), { minItems: 1 }),
  description: Type.Optional(Type.String()),
})
export type AlignCreateWebhookInput = Static<typeof AlignCreateWebhookInputSchema>

/** POST /webhooks response. `hmacSecret` is shown this once: store it (encrypted) at once. */
export const AlignWebhookSubscriptionSchema = Type.Object({
  id: Type.String(),
  destinationUrl: Type.String(),
  eventNames: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  description: Type.Optional(Nullable(Type.String())),
  hmacSecret: Type.String({ minLength: 1 }),
  createdAt: Type.String(),
})
export type AlignWebhookSubscription = Static<typeof AlignWebhookSubscriptionSchema>
