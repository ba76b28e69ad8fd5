// xinetd's access_times: the times of day a service admits clients. Pure: the caller passes the
// instant and the intervals; the wall clock is local time, as xinetd reads it. It refuses nothing
// itself (admission.ts does).

/** Minutes after local midnight of `ms` (milliseconds since the epoch). */
export function localMinutes(ms: number): number {
  const d = new Date(ms);
  return d.getHours() * 60 + d.getMinutes();
}

/** True when `minutes` lies in one of the [from, to] intervals, bounds included; an interval with to < from runs past midnight. */
export function withinTimes(intervals: ReadonlyArray<readonly [number, number]>, minutes: number): boolean {
  return intervals.some(([from, to]) => (from <= to ? minutes >= from && minutes <= to : minutes >= from || minutes <= to));
}
