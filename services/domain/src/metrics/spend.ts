/**
 * The spend arithmetic lives in the standalone verifier (@vru/verifier, no dependencies) so that the figures a
 * funder re-computes offline from an evidence pack come from the very code the service's spend report runs.
 */
export {
  foldGrantEvents,
  quarterOf,
  spendFigures,
  SpendError,
  type GrantLedger,
  type GrantStreamEvent,
  type GrantTerms,
  type SpendFigures,
  type SpendLine,
} from '@vru/verifier';
