// What every form and action button shares: labelled fields, and the way an action runs (clear
// the message, call the API, show what failed).

import { h } from './dom'
import type { messageLine } from './shell'

export type Message = ReturnType<typeof messageLine>

export interface Busy {
  /** Disabled while the action runs. */
  buttons: HTMLButtonElement[]
  /** After a success they stay disabled: what the action started (a poll, a countdown) enables them. */
  untilReleased?: boolean
}

/** Clear `message`, run `action` and show what it throws; its result, or `undefined` once it failed. */
export async function attempt<T>(message: Message, action: () => Promise<T>, busy?: Busy): Promise<T | undefined> {
  message.clear()
  const hold = (disabled: boolean) => busy?.buttons.forEach((button) => (button.disabled = disabled))
  hold(true)
  try {
    const result = await action()
    if (!busy?.untilReleased) hold(false)
    return result
  } catch (error) {
    hold(false)
    message.show(error)
    return undefined
  }
}

/** An input (or select, textarea) under its label. */
export function field(label: string, input: HTMLElement): HTMLElement {
  return h('label', { class: 'field' }, h('span', {}, label), input)
}

/** A form's submit handler: the page stays, `run` runs instead. */
export function onSubmit(run: () => unknown): (event: SubmitEvent) => void {
  return (event) => {
    event.preventDefault()
    void run()
  }
}

/** A form's submit handler that `attempt`s `action`. */
export function submitWith(message: Message, action: () => Promise<unknown>, busy?: Busy): (event: SubmitEvent) => void {
  return onSubmit(() => attempt(message, action, busy))
}
