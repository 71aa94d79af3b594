// Start a server task from a button, then follow it in a status line until it ends.

import { h, replace } from '../dom'
import { attempt, type Message } from '../forms'
import { t } from '../i18n'
import { pollTask } from '../poll'
import type { TaskStatus } from '../types'

interface Task {
  status: TaskStatus
  error?: unknown
}

export interface TaskRun<T extends Task> {
  start: () => Promise<{ task_id: string }>
  fetch: (taskId: string) => Promise<T>
  /** Render the task into `status` after each poll. */
  show: (status: HTMLElement, task: T) => void
  status: HTMLElement
  message: Message
  /** Disabled until the task ends. */
  button: HTMLButtonElement
  onDone?: (task: T) => void
}

export function runTask<T extends Task>(run: TaskRun<T>): Promise<unknown> {
  const { status, message, button } = run
  return attempt(
    message,
    async () => {
      const { task_id } = await run.start()
      replace(status, h('span', { class: 'status queued' }, t('status.queued')))
      pollTask<T>({
        owner: status,
        fetch: () => run.fetch(task_id),
        onError: (error) => message.show(error),
        onUpdate: (task) => {
          run.show(status, task)
          if (task.status === 'queued' || task.status === 'processing') return
          button.disabled = false
          if (task.status === 'failed') message.show(task.error ?? t('status.failed'))
          run.onDone?.(task)
        },
      })
    },
    { buttons: [button], untilReleased: true },
  )
}
