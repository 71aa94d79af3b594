// Import a manuscript (.txt, .docx, .fountain) as a new work, with the job's progress.

import { get } from '../api'
import { h } from '../dom'
import { field, submitWith } from '../forms'
import { t } from '../i18n'
import { pollTask } from '../poll'
import { messageLine } from '../shell'
import type { TaskStatus } from '../types'
import { upload } from '../upload'

interface ImportTask {
  task_id: string
  status: TaskStatus
  progress: number
  error: string | null
  work_id: number | null
  title: string | null
  chapters: number | null
}

export function importPanel(): HTMLElement {
  const message = messageLine('import-message')
  const file = h('input', { type: 'file', required: true, accept: '.txt,.docx,.fountain,.spmd', 'data-testid': 'import-file' })
  const title = h('input', { maxlength: 200, placeholder: t('import.titlePlaceholder'), 'data-testid': 'import-title' })
  const bar = h('progress', { max: 100, value: 0, hidden: true, 'data-testid': 'import-progress' })
  const state = h('span', { class: 'muted', 'data-testid': 'import-status' })
  const result = h('div', { 'data-testid': 'import-result' })
  const start = h('button', { type: 'submit', class: 'primary', 'data-testid': 'import-start' }, t('import.start'))

  const follow = (taskId: string) =>
    pollTask<ImportTask>({
      owner: bar,
      fetch: () => get<ImportTask>(`/import/tasks/${taskId}`),
      onError: (error) => message.show(error),
      onUpdate: (task) => {
        bar.value = task.progress
        bar.dataset.progress = String(task.progress)
        state.textContent = `${t(`status.${task.status}`)} · ${task.progress}%`
        state.dataset.status = task.status
        if (task.status === 'completed' && task.work_id) {
          result.replaceChildren(
            h(
              'a',
              { href: `/works/${task.work_id}`, 'data-link': true, 'data-testid': 'import-open' },
              t('import.done').replace('{title}', task.title ?? '').replace('{n}', String(task.chapters ?? 0)),
            ),
          )
        }
        if (task.status === 'failed') message.show(task.error ?? t('status.failed'))
        if (task.status === 'completed' || task.status === 'failed' || task.status === 'cancelled') start.disabled = false
      },
    })

  const form = h(
    'form',
    {
      class: 'stack',
      onsubmit: submitWith(
        message,
        async () => {
          const chosen = file.files?.[0]
          if (!chosen) throw new Error(t('account.chooseFile'))
          const fields: Record<string, Blob | string> = { file: chosen }
          if (title.value.trim()) fields.title = title.value.trim()
          const queued = await upload<{ task_id: string }>('/import', fields)
          result.replaceChildren()
          bar.hidden = false
          bar.value = 0
          follow(queued.task_id)
        },
        { buttons: [start], untilReleased: true },
      ),
    },
    h('p', { class: 'muted' }, t('import.hint')),
    h('div', { class: 'row' }, field(t('import.file'), file), field(t('import.title'), title), start),
    h('div', { class: 'row' }, bar, state),
    message,
    result,
  )
  return h('details', { class: 'card', 'data-testid': 'import' }, h('summary', {}, t('import.heading')), form)
}

