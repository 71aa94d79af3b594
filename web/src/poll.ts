// Poll a task until it finishes, the element showing it is gone, or polling keeps failing.

import type { TaskStatus } from './types'
import { FINISHED } from './types'

export interface PollOptions<T> {
  fetch: () => Promise<T>
  onUpdate: (value: T) => void
  onError: (error: unknown) => void
  /** Stop once this element leaves the page. */
  owner: Element
  intervalMs?: number
}

export function pollTask<T extends { status: TaskStatus }>(options: PollOptions<T>): void {
  const interval = options.intervalMs ?? 800
  let failures = 0
  const tick = async () => {
    if (!options.owner.isConnected) return
    try {
      const value = await options.fetch()
      failures = 0
      options.onUpdate(value)
      if (FINISHED.includes(value.status)) return
    } catch (error) {
      options.onError(error)
      if (++failures >= 5) return
    }
    setTimeout(tick, interval)
  }
  void tick()
}
