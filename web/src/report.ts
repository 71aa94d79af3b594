// The report (举报) button: a reason from the fixed list and a note, sent once per user.

import { post } from './api'
import { h } from './dom'
import { attempt } from './forms'
import { t } from './i18n'
import { messageLine } from './shell'

export const REPORT_REASONS = ['spam', 'sexual', 'violence', 'hate', 'illegal', 'copyright', 'other'] as const
export type ReportKind = 'work' | 'material' | 'comment'

/** A small button that opens the report form in place. */
export function reportButton(kind: ReportKind, targetId: string | number): HTMLElement {
  const holder = h('span', { class: 'report' })
  const open = () => {
    holder.querySelector('.report-form')?.remove()
    const reason = h(
      'select',
      { 'data-testid': 'report-reason', 'aria-label': t('report.reason') },
      REPORT_REASONS.map((value) => h('option', { value }, t(`report.reason.${value}`))),
    )
    const note = h('input', { maxlength: 500, placeholder: t('report.note'), 'data-testid': 'report-note' })
    const message = messageLine('report-message')
    const form = h(
      'div',
      { class: 'report-form card', role: 'dialog', 'aria-label': t('report.title'), 'data-testid': 'report-form' },
      h('strong', {}, t('report.title')),
      reason,
      note,
      h(
        'button',
        {
          class: 'small primary',
          'data-testid': 'report-submit',
          onclick: () =>
            attempt(message, async () => {
              const body = { target_kind: kind, target_id: String(targetId), reason: reason.value, note: note.value.trim() }
              const sent = await post<{ repeated: boolean }>('/reports', body)
              message.info(t(sent.repeated ? 'report.updated' : 'report.sent'))
            }),
        },
        t('report.submit'),
      ),
      h('button', { class: 'small', 'data-testid': 'report-cancel', onclick: () => form.remove() }, t('common.close')),
      message,
    )
    holder.append(form)
  }
  holder.append(h('button', { class: 'small link-button', 'data-testid': 'report-open', onclick: open }, t('report.open')))
  return holder
}
