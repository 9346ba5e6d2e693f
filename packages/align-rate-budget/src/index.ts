export {
  type AlignBudgetDecision, type AlignBudgetOptions, DEFAULT_ALIGN_LIMIT_PER_MINUTE, effectiveLimit, pauseConnection,
  readAlignBudget, takeAlignBudget,
} from './budget.js'
