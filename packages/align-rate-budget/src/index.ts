export {
  type AlignBudgetDecision, type AlignBudgetOptions, DEFAULT_ALIGN_LIMIT_PER_MINUTE, DEFAULT_BURST_SHARE, defaultBurst, effectiveLimit,
  msUntilGrant, paceIntervalMs, pacedFloorMs, pauseConnection, readAlignBudget, takeAlignBudget,
} from './budget.js'
