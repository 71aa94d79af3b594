// The materials library: search characters, scenes, dialogue and plot devices; insert at the cursor.

import { get, post, type Page } from '../api'
import { h, replace } from '../dom'
import { attempt, onSubmit } from '../forms'
import { t } from '../i18n'
import { messageLine } from '../shell'
import type { Material } from '../types'

export function materialsPanel(insert: ((text: string) => void) | null): HTMLElement {
  const keyword = h('input', { type: 'search', placeholder: t('materials.placeholder'), 'data-testid': 'materials-keyword' })
  const list = h('ul', { class: 'materials', 'data-testid': 'materials' })
  const message = messageLine('materials-message')

  const search = () =>
    attempt(message, async () => {
      const page = await get<Page<Material>>('/materials', { q: keyword.value.trim(), page_size: 30 })
      replace(list, page.items.length ? page.items.map(row) : h('li', { class: 'muted' }, t('materials.none')))
    })

  const row = (material: Material): HTMLElement =>
    h(
      'li',
      { class: 'material', 'data-testid': 'material', 'data-material-id': material.id },
      h(
        'div',
        { class: 'material-head' },
        h('strong', {}, material.title),
        h('span', { class: 'badge' }, t(`materials.type.${material.type}`)),
        insert
          ? h(
              'button',
              {
                class: 'small',
                'data-testid': 'material-insert',
                onclick: async () => {
                  insert(material.content)
                  try {
                    await post(`/materials/${material.id}/use`)
                  } catch (error) {
                    message.show(error)
                  }
                },
              },
              t('materials.insert'),
            )
          : null,
      ),
      h('p', { class: 'material-body' }, material.content.length > 120 ? `${material.content.slice(0, 120)}…` : material.content),
    )

  const form = h(
    'form',
    {
      class: 'row',
      onsubmit: onSubmit(search),
    },
    keyword,
    h('button', { type: 'submit', 'data-testid': 'materials-search' }, t('materials.search')),
  )
  void search()
  return h('div', { class: 'materials-panel' }, form, message, list)
}
