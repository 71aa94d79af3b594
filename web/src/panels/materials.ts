// The materials library: find characters, scenes, dialogue and plot devices by keyword, type and
// genre; read a whole entry; add my own; insert one at the cursor after seeing what it drops in.

import { get, post, type Page } from '../api'
import { h, replace } from '../dom'
import { attempt, field, onSubmit, submitWith } from '../forms'
import { t } from '../i18n'
import { reportButton } from '../report'
import { messageLine } from '../shell'
import type { Material } from '../types'

export const MATERIAL_TYPES = ['character', 'scene', 'dialogue', 'plot'] as const
// The genres of the starter library; a writer's own may name others (the filter takes any).
export const GENRES = ['都市', '言情', '悬疑', '武侠', '玄幻', '科幻', '历史'] as const
const PREVIEW_CHARS = 120

export interface MaterialsOptions {
  /** Put text at the editor's cursor; null where there is no editor (or it is read-only). */
  insert: ((text: string) => void) | null
  /** Offer the form that adds a material of my own. */
  create?: boolean
  /** Open this material in full once listed (`/materials?open=ID`). */
  open?: number | null
}

function options<T extends string>(all: readonly T[], label: (value: T) => string, anyLabel: string): HTMLOptionElement[] {
  return [h('option', { value: '' }, anyLabel), ...all.map((value) => h('option', { value }, label(value)))]
}

export function materialsPanel(choice: MaterialsOptions | ((text: string) => void) | null): HTMLElement {
  const opts: MaterialsOptions = typeof choice === 'function' || choice === null ? { insert: choice } : choice
  const { insert } = opts
  const keyword = h('input', { type: 'search', placeholder: t('materials.placeholder'), 'data-testid': 'materials-keyword' })
  const type = h('select', { 'data-testid': 'materials-type', title: t('materials.filterType') }, options(MATERIAL_TYPES, (v) => t(`materials.type.${v}`), t('materials.anyType')))
  const genre = h('select', { 'data-testid': 'materials-genre', title: t('materials.filterGenre') }, options(GENRES, (v) => v, t('materials.anyGenre')))
  const mine = h('input', { type: 'checkbox', 'data-testid': 'materials-mine' })
  const list = h('ul', { class: 'materials', 'data-testid': 'materials' })
  const message = messageLine('materials-message')

  // Only the latest search shows: an earlier one answering late must not replace its rows.
  let latest = 0
  const search = () =>
    attempt(message, async () => {
      const ticket = ++latest
      const page = await get<Page<Material>>('/materials', {
        q: keyword.value.trim(),
        type: type.value,
        genre: genre.value,
        mine: mine.checked || null,
        page_size: 30,
      })
      if (ticket !== latest) return
      const kept = openParts()
      replace(list, page.items.length ? page.items.map(row) : h('li', { class: 'muted' }, t('materials.none')))
      reopen(kept)
      if (opts.open) {
        const opened = rowOf(list, String(opts.open))?.querySelector<HTMLButtonElement>('[data-testid=material-expand][aria-expanded=false]')
        opened?.click()
        opts.open = null
      }
    })

  // A new list (a search, a filter, a material just added) keeps what the writer had open in the
  // old one, for the materials in both: a question about inserting, a whole entry being read.
  const rowOf = (container: ParentNode, id: string) => container.querySelector<HTMLElement>(`[data-material-id="${id}"]`)
  const openParts = () => {
    const asking = new Map<string, Element>()
    const expanded: string[] = []
    for (const item of list.querySelectorAll<HTMLElement>('[data-testid=material]')) {
      const id = item.dataset.materialId ?? ''
      const box = item.querySelector('.confirm-insert')
      if (box) asking.set(id, box)
      if (item.querySelector('[data-testid=material-expand]')?.getAttribute('aria-expanded') === 'true') expanded.push(id)
    }
    return { asking, expanded }
  }
  const reopen = ({ asking, expanded }: ReturnType<typeof openParts>) => {
    for (const [id, box] of asking) rowOf(list, id)?.append(box)
    for (const id of expanded) rowOf(list, id)?.querySelector<HTMLButtonElement>('[data-testid=material-expand]')?.click()
  }

  const row = (material: Material): HTMLElement => {
    const long = material.content.length > PREVIEW_CHARS
    const body = h('p', { class: 'material-body', 'data-testid': 'material-body' }, long ? `${material.content.slice(0, PREVIEW_CHARS)}…` : material.content)
    const item = h('li', { class: 'material', 'data-testid': 'material', 'data-material-id': material.id })
    const expand = h(
      'button',
      {
        class: 'small link-button',
        'data-testid': 'material-expand',
        'aria-expanded': 'false',
        hidden: !long,
        onclick: () => {
          const open = expand.getAttribute('aria-expanded') !== 'true'
          expand.setAttribute('aria-expanded', String(open))
          body.textContent = open ? material.content : `${material.content.slice(0, PREVIEW_CHARS)}…`
          body.classList.toggle('whole', open)
          expand.textContent = open ? t('materials.collapse') : t('materials.readAll')
        },
      },
      t('materials.readAll'),
    )
    // A template is guidance as much as text: show what goes in, and insert only when agreed.
    const ask = () => {
      item.querySelector('.confirm-insert')?.remove()
      const box = h(
        'div',
        { class: 'confirm-insert', 'data-testid': 'material-confirm', role: 'dialog', 'aria-label': t('materials.confirmTitle') },
        h('p', {}, t('materials.confirmInsert')),
        h('pre', { class: 'material-preview' }, material.content),
        h(
          'div',
          { class: 'row' },
          h(
            'button',
            {
              class: 'small primary',
              'data-testid': 'material-insert-confirm',
              onclick: async () => {
                box.remove()
                insert?.(material.content)
                try {
                  await post(`/materials/${material.id}/use`)
                } catch (error) {
                  message.show(error)
                }
              },
            },
            t('materials.insert'),
          ),
          h('button', { class: 'small', 'data-testid': 'material-insert-cancel', onclick: () => box.remove() }, t('common.cancel')),
        ),
      )
      item.append(box)
    }
    item.append(
      h(
        'div',
        { class: 'material-head' },
        h('strong', {}, material.title),
        h('span', { class: 'badge' }, t(`materials.type.${material.type}`)),
        material.genre ? h('span', { class: 'badge' }, material.genre) : null,
        material.is_system ? null : h('span', { class: 'badge' }, t('materials.own')),
        material.is_public && !material.is_system && !material.is_mine ? reportButton('material', material.id) : null,
        insert ? h('button', { class: 'small', 'data-testid': 'material-insert', onclick: ask }, t('materials.insert')) : null,
      ),
      body,
      expand,
    )
    return item
  }

  const form = h(
    'form',
    { class: 'row', onsubmit: onSubmit(search) },
    keyword,
    type,
    genre,
    h('label', { class: 'check' }, mine, t('materials.mine')),
    h('button', { type: 'submit', 'data-testid': 'materials-search' }, t('materials.search')),
  )
  for (const filter of [type, genre, mine]) filter.addEventListener('change', () => void search())
  void search()
  return h('div', { class: 'materials-panel' }, form, opts.create ? createForm(search) : null, message, list)
}

/** Add a material of my own (private unless shared). */
function createForm(refresh: () => unknown): HTMLElement {
  const message = messageLine('material-create-message')
  const title = h('input', { required: true, maxlength: 200, 'data-testid': 'material-new-title' })
  const type = h('select', { 'data-testid': 'material-new-type' }, MATERIAL_TYPES.map((v) => h('option', { value: v }, t(`materials.type.${v}`))))
  const genre = h('input', { maxlength: 50, list: 'material-genres', 'data-testid': 'material-new-genre' })
  const content = h('textarea', { rows: 5, required: true, 'data-testid': 'material-new-content' })
  const shared = h('input', { type: 'checkbox', 'data-testid': 'material-new-public' })
  const form: HTMLFormElement = h(
    'form',
    {
      class: 'stack',
      onsubmit: submitWith(message, async () => {
        await post('/materials', {
          title: title.value.trim(),
          type: type.value,
          genre: genre.value.trim() || null,
          content: content.value,
          is_public: shared.checked,
        })
        form.reset()
        message.info(t('materials.created'))
        await refresh()
      }),
    },
    h('datalist', { id: 'material-genres' }, GENRES.map((g) => h('option', { value: g }))),
    h('div', { class: 'row' }, field(t('materials.newTitle'), title), field(t('materials.filterType'), type), field(t('materials.filterGenre'), genre)),
    field(t('materials.newContent'), content),
    h('label', { class: 'check' }, shared, t('materials.public')),
    message,
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'material-create' }, t('materials.add')),
  )
  return h('details', { class: 'card', 'data-testid': 'material-new' }, h('summary', {}, t('materials.add')), form)
}
