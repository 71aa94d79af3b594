// The works list: every work I own or am a member of, and a form to start a new one.

import { get, post, type Page } from '../api'
import { formatTime, h, replace } from '../dom'
import { attempt, submitWith } from '../forms'
import { t } from '../i18n'
import { importPanel } from '../panels/import'
import { navigate } from '../router'
import { messageLine, topBar } from '../shell'
import type { Work, WorkType } from '../types'

export async function worksPage(root: HTMLElement): Promise<void> {
  const list = h('ul', { class: 'works', 'data-testid': 'works' })
  const message = messageLine()
  const title = h('input', { name: 'title', required: true, maxlength: 200, placeholder: t('works.titlePlaceholder'), 'data-testid': 'work-title' })
  const type = h(
    'select',
    { name: 'type', 'data-testid': 'work-type' },
    h('option', { value: 'novel' }, t('type.novel')),
    h('option', { value: 'script' }, t('type.script')),
  )
  const form = h(
    'form',
    {
      class: 'row card',
      onsubmit: submitWith(message, async () => {
        const work = await post<Work & { work_id: number }>('/works', {
          title: title.value.trim(),
          type: type.value as WorkType,
        })
        navigate(`/works/${work.work_id}`)
      }),
    },
    title,
    type,
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'work-create' }, t('works.create')),
  )
  root.append(
    topBar(),
    h('main', { class: 'page' }, h('h1', {}, t('works.title')), form, importPanel(), message, list),
  )
  await attempt(message, async () => {
    const page = await get<Page<Work>>('/works', { page_size: 100 })
    if (page.items.length === 0) {
      replace(list, h('li', { class: 'muted' }, t('works.empty')))
      return
    }
    replace(
      list,
      page.items.map((work) =>
        h(
          'li',
          { class: 'work' },
          h('a', { href: `/works/${work.id}`, 'data-link': true, class: 'work-title' }, work.title),
          h('span', { class: `badge ${work.type}` }, t(`type.${work.type}`)),
          h('span', { class: 'badge' }, t(`role.${work.role ?? 'viewer'}`)),
          h('span', { class: 'muted' }, `${work.word_count} ${t('unit.words')}`),
          h('span', { class: 'muted' }, formatTime(work.updated_at)),
        ),
      ),
    )
  })
}
