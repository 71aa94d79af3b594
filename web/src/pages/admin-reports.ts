// The administrators' report queue: one row per reported target, most reported first; dismiss,
// hide (the owner is told why) or disable the owner's account.

import { get, post, type Page } from '../api'
import { formatTime, h, replace } from '../dom'
import { attempt } from '../forms'
import { t } from '../i18n'
import { REPORT_REASONS } from '../report'
import { messageLine, topBar } from '../shell'

interface QueueItem {
  target_kind: 'work' | 'material' | 'comment'
  target_id: string
  title: string | null
  owner_id: number | null
  count: number
  latest_at: string
  reasons: Record<string, number>
  notes: { reporter_id: number; reason: string; note: string; at: string }[]
}

const STATUSES = ['open', 'dismissed', 'hidden', 'disabled'] as const
const ACTIONS = ['dismiss', 'hide', 'disable'] as const

function select(testid: string, values: readonly string[], label: (v: string) => string, any?: string): HTMLSelectElement {
  return h(
    'select',
    { 'data-testid': testid },
    any === undefined ? null : h('option', { value: '' }, any),
    values.map((value) => h('option', { value }, label(value))),
  )
}

export async function adminReportsPage(root: HTMLElement): Promise<void> {
  const message = messageLine()
  const list = h('ul', { class: 'works', 'data-testid': 'report-queue' })
  const status = select('queue-status', STATUSES, (v) => t(`reports.status.${v}`))
  const kind = select('queue-kind', ['work', 'material', 'comment'], (v) => t(`reports.kind.${v}`), t('reports.anyKind'))
  const reason = select('queue-reason', REPORT_REASONS, (v) => t(`report.reason.${v}`), t('reports.anyReason'))
  const sort = select('queue-sort', ['count', 'recent'], (v) => t(`reports.sort.${v}`))
  root.append(
    topBar(),
    h(
      'main',
      { class: 'page' },
      h('h1', {}, t('reports.title')),
      h('div', { class: 'row' }, status, kind, reason, sort),
      message,
      list,
    ),
  )
  const load = async () => {
    const query = { status: status.value, kind: kind.value || undefined, reason: reason.value || undefined, sort: sort.value, page_size: 50 }
    const page = await get<Page<QueueItem>>('/admin/reports', query)
    replace(list, page.items.length ? page.items.map(row) : h('li', { class: 'muted', 'data-testid': 'queue-empty' }, t('reports.empty')))
  }
  const row = (item: QueueItem): HTMLElement => {
    const reasons = Object.entries(item.reasons)
      .map(([name, count]) => `${t(`report.reason.${name}`)} ×${count}`)
      .join(' · ')
    const resolution = h('input', { maxlength: 500, placeholder: t('reports.message'), 'data-testid': 'queue-message' })
    const act = (action: (typeof ACTIONS)[number]) =>
      h(
        'button',
        {
          class: action === 'dismiss' ? 'small' : 'small danger',
          'data-testid': `queue-${action}`,
          onclick: () =>
            attempt(message, async () => {
              const path = `/admin/reports/${item.target_kind}/${encodeURIComponent(item.target_id)}/resolve`
              await post(path, { action, message: resolution.value.trim() })
              message.info(t(`reports.done.${action}`))
              await load()
            }),
        },
        t(`reports.action.${action}`),
      )
    return h(
      'li',
      { class: 'work', 'data-testid': 'queue-item', 'data-target': `${item.target_kind}:${item.target_id}` },
      h('span', { class: 'badge' }, t(`reports.kind.${item.target_kind}`)),
      h('span', { class: 'work-title', 'data-testid': 'queue-title' }, item.title ?? t('reports.gone')),
      h('span', { class: 'badge', 'data-testid': 'queue-count' }, String(item.count)),
      h('span', { class: 'muted' }, reasons),
      h('span', { class: 'muted' }, formatTime(item.latest_at)),
      h('ul', { class: 'muted' }, item.notes.filter((n) => n.note).map((n) => h('li', {}, n.note))),
      status.value === 'open' ? [resolution, ...ACTIONS.map(act)] : [],
    )
  }
  for (const filter of [status, kind, reason, sort]) filter.addEventListener('change', () => void attempt(message, load))
  await attempt(message, load)
}
