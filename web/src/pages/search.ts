// Search across my works' chapters and the materials I can see; `?q=` keeps the query in the URL.

import { get } from '../api'
import { formatTime, h, replace } from '../dom'
import { attempt, onSubmit } from '../forms'
import { t } from '../i18n'
import { navigate } from '../router'
import { messageLine, topBar } from '../shell'

interface Hit {
  type: 'chapter' | 'material'
  id: number
  title: string
  work_id: number | null
  work_title: string | null
  material_type: string | null
  occurrences: number
  updated_at: string
  snippet: string
}

interface SearchPage {
  total: number
  total_is_estimate: boolean
  has_more: boolean
  page: number
  page_size: number
  items: Hit[]
}

const PAGE_SIZE = 20
const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#x27;': "'", '&#39;': "'" }

/** The server's snippet is escaped text with hits in <em>: rebuilt as nodes, never as HTML. */
export function snippetNodes(snippet: string): Node[] {
  const unescape = (text: string) => text.replace(/&(amp|lt|gt|quot|#x27|#39);/g, (entity) => ENTITIES[entity])
  return snippet.split(/(<em>.*?<\/em>)/).map((part) =>
    part.startsWith('<em>') ? h('mark', {}, unescape(part.slice(4, -5))) : document.createTextNode(unescape(part)),
  )
}

export async function searchPage(root: HTMLElement): Promise<void> {
  const params = new URLSearchParams(location.search)
  const query = h('input', { type: 'search', required: true, maxlength: 100, value: params.get('q') ?? '', placeholder: t('search.placeholder'), 'data-testid': 'search-q' })
  const kind = h(
    'select',
    { 'data-testid': 'search-type' },
    ['all', 'chapters', 'materials'].map((value) => h('option', { value, selected: params.get('type') === value }, t(`search.type.${value}`))),
  )
  const message = messageLine()
  const summary = h('p', { class: 'muted', 'data-testid': 'search-total' })
  const list = h('ul', { class: 'hits', 'data-testid': 'search-hits' })
  const more = h('button', { type: 'button', hidden: true, 'data-testid': 'search-more' }, t('search.more'))
  let page = 1

  const row = (hit: Hit): HTMLElement => {
    const href = hit.type === 'chapter' ? `/works/${hit.work_id}/chapters/${hit.id}` : `/materials?open=${hit.id}`
    return h(
      'li',
      { class: 'hit card', 'data-testid': 'search-hit', 'data-type': hit.type },
      h(
        'div',
        { class: 'notice-head' },
        h('a', { href, 'data-link': true, class: 'work-title' }, hit.title),
        h('span', { class: 'badge' }, hit.type === 'chapter' ? (hit.work_title ?? '') : t(`materials.type.${hit.material_type}`)),
        h('span', { class: 'muted' }, formatTime(hit.updated_at)),
      ),
      h('p', { class: 'snippet-line' }, snippetNodes(hit.snippet)),
    )
  }

  const run = async (append: boolean) => {
    const q = query.value.trim()
    if (!q) return
    const found = await attempt(message, () => get<SearchPage>('/search', { q, type: kind.value, page, page_size: PAGE_SIZE }))
    if (!found) return
    const rows = found.items.map(row)
    if (append) list.append(...rows)
    else replace(list, rows.length ? rows : h('li', { class: 'muted' }, t('search.none')))
    summary.textContent = t('search.total').replace('{n}', `${found.total}${found.total_is_estimate ? '+' : ''}`)
    more.hidden = !found.has_more
  }
  more.addEventListener('click', () => {
    page += 1
    void run(true)
  })
  const form = h(
    'form',
    {
      class: 'row card',
      role: 'search',
      onsubmit: onSubmit(() => {
        // The query goes into the address, so back and reload show the same results.
        navigate(`/search?${new URLSearchParams({ q: query.value.trim(), type: kind.value })}`)
      }),
    },
    query,
    kind,
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'search-submit' }, t('search.submit')),
  )
  root.append(topBar(), h('main', { class: 'page' }, h('h1', {}, t('search.title')), form, message, summary, list, more))
  if (query.value.trim()) await run(false)
  else query.focus()
}
