// Public surface of @illumera/align-gateway.
export {
  AlignGateway,
  DEFAULT_BASE_URL,
  MAX_BULK_INVITES,
  MAX_PAGE_SIZE,
  type AlignCreateOptions,
  type AlignGatewayOptions,
  type AlignIntegrationLinksParams,
  type AlignListIntegrationLinksParams,
  type AlignMutationOptions,
  type AlignRequestOptions,
  type AlignTimeSummaryParams,
} from './client.js'
export { closeAlignPools, type AlignResponseInfo } from './request.js'
export { parseRateLimitHeaders, parseRetryAfter, type AlignRateLimit } from './rate-limit.js'
export {
  AlignApiError,
  AlignAuthError,
  AlignConflictError,
  AlignConnectionError,
  AlignNotFoundError,
  AlignRateLimitError,
  AlignResponseValidationError,
  AlignServerError,
  AlignValidationError,
  alignErrorFromResponse,
  type AlignApiErrorInit,
  type AlignErrorContext,
  type AlignErrorResponse,
} from './errors.js'
export {
  ALIGN_DELIVERY_ID_HEADER,
  ALIGN_EVENT_HEADER,
  ALIGN_SIGNATURE_HEADER,
  ALIGN_TIMESTAMP_HEADER,
  signAlignWebhook,
  verifyAlignWebhook,
  type AlignWebhookFailureReason,
  type AlignWebhookHeaderInput,
  type AlignWebhookHeaders,
  type AlignWebhookVerification,
  type SignAlignWebhookParams,
  type VerifyAlignWebhookParams,
} from './webhook-signature.js'
export * from './schemas/index.js'
export { VERSION } from './version.js'
