// Export a work: POST /export, follow the task, then download the file.

import { get, post } from '../api'
import { formatTime, h, replace } from '../dom'
import { field, onSubmit } from '../forms'
import { t } from '../i18n'
import { messageLine } from '../shell'
import type { ExportTask, Work } from '../types'
import { runTask } from './run-task'

export function exportPanel(work: Pick<Work, 'id' | 'type'>): HTMLElement {
  const formats = work.type === 'script' ? ['fountain', 'pdf', 'word', 'txt'] : ['word', 'pdf', 'txt']
  const format = h(
    'select',
    { 'data-testid': 'export-format' },
    formats.map((name) => h('option', { value: name }, t(`export.format.${name}`))),
  )
  const cover = h('input', { type: 'checkbox', checked: true, 'data-testid': 'export-cover' })
  const fontSize = h('input', { type: 'number', min: 8, max: 32, value: 12, class: 'short', 'data-testid': 'export-font-size' })
  const status = h('div', { class: 'task-status', 'data-testid': 'export-status' })
  const message = messageLine('export-message')
  const start = h('button', { type: 'submit', class: 'primary', 'data-testid': 'export-start' }, t('export.start'))
  return h(
    'form',
    {
      class: 'stack',
      onsubmit: onSubmit(() =>
        runTask<ExportTask>({
          status,
          message,
          button: start,
          start: () =>
            post('/export', {
              work_id: work.id,
              format: format.value,
              options: { include_cover: cover.checked, font_size: Number(fontSize.value) || 12 },
            }),
          fetch: (taskId) => get<ExportTask>(`/export/tasks/${taskId}`),
          show: showExport,
        }),
      ),
    },
    field(t('export.format'), format),
    h('label', { class: 'check' }, cover, t('export.cover')),
    field(t('export.fontSize'), fontSize),
    start,
    status,
    message,
  )
}

function showExport(status: HTMLElement, task: ExportTask): void {
  const parts: (Node | string)[] = [
    h('span', { class: `status ${task.status}` }, t(`status.${task.status}`)),
    task.progress !== null && task.status === 'processing' ? h('progress', { max: 100, value: task.progress }) : '',
  ]
  if (task.status === 'completed' && task.download_url) {
    const link = h('a', { href: task.download_url, download: '', 'data-testid': 'export-download' }, t('export.download'))
    parts.push(link)
    if (task.expire_at) parts.push(h('span', { class: 'muted' }, `${t('export.expires')} ${formatTime(task.expire_at)}`))
    link.click()
  }
  replace(status, parts)
}
