// When an open checkpoint stops being a slow one and becomes a frozen guest (issue: "a threshold, default 5 s,
// never below 10× the recent p99 pause"). One rule for the service's alarm and the CLI's summary.

/** The frozen threshold is never below this many times the recent p99 primary pause. */
export const FROZEN_P99_FACTOR = 10;

/** How long a checkpoint may stay open before the guest counts as frozen. */
export function frozenAfterMs(thresholdMs: number, recentP99Ms: number | null): number {
  return Math.max(thresholdMs, FROZEN_P99_FACTOR * (recentP99Ms ?? 0));
}
