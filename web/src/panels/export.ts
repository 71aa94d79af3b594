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
  const watermark = h('input', { type: 'checkbox', 'data-testid': 'export-watermark' })
  // Sent once with the request and never stored (the server keeps it in memory for the job).
  const password = h('input', {
    type: 'password',
    autocomplete: 'new-password',
    minlength: 4,
    maxlength: 128,
    'data-testid': 'export-password',
  })
  const canPrint = h('input', { type: 'checkbox', checked: true, 'data-testid': 'export-can-print' })
  const canCopy = h('input', { type: 'checkbox', 'data-testid': 'export-can-copy' })
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
          start: () => {
            const body = {
              work_id: work.id,
              format: format.value,
              options: {
                include_cover: cover.checked,
                font_size: Number(fontSize.value) || 12,
                watermark: watermark.checked,
              },
              protection: password.value
                ? { password: password.value, can_print: canPrint.checked, can_copy: canCopy.checked }
                : null,
            }
            password.value = '' // not kept on the page once sent
            return post('/export', body)
          },
          fetch: (taskId) => get<ExportTask>(`/export/tasks/${taskId}`),
          show: showExport,
        }),
      ),
    },
    field(t('export.format'), format),
    h('label', { class: 'check' }, cover, t('export.cover')),
    field(t('export.fontSize'), fontSize),
    h('label', { class: 'check' }, watermark, t('export.watermark')),
    field(t('export.password'), password),
    h('label', { class: 'check' }, canPrint, t('export.canPrint')),
    h('label', { class: 'check' }, canCopy, t('export.canCopy')),
    h('p', { class: 'muted' }, t('export.protectedNote')),
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
