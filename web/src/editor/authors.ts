// The "authors" view: who wrote what. Colours the chapter's text by author (each person in the
// colour of their cursor, AI tasks in their own, text the server wrote in grey) from
// `GET /chapters/{id}/authorship`, with a legend of characters per author for the chapter and
// the work (`GET /works/{id}/authorship`).

import { type Extension, RangeSetBuilder, StateEffect, StateField } from '@codemirror/state'
import { Decoration, type DecorationSet, EditorView } from '@codemirror/view'
import type * as Y from 'yjs'
import { get } from '../api'
import { h, replace } from '../dom'
import { t } from '../i18n'
import { userColor } from './collab'

export interface Author {
  kind: 'user' | 'ai' | 'unknown'
  id: number | string | null
  name: string | null
  /** An AI task's: who ran it. */
  user_id?: number | null
  user_name?: string | null
}

export interface AuthorRun {
  from: number
  to: number
  author: Author
}

export interface AuthorTotal {
  author: Author
  chars: number
  share: number
}

interface ChapterAuthorship {
  chapter_id: number
  /** Code points, as the server counts. */
  length: number
  runs: AuthorRun[]
  authors: AuthorTotal[]
}

interface WorkAuthorship {
  work_id: number
  authors: AuthorTotal[]
}

export const AI_COLOR = '#7c5cff'
const UNKNOWN_COLOR = '#9aa0a6'

export const authorKey = (author: Author): string => `${author.kind}:${author.id ?? ''}`

export function authorColor(author: Author): string {
  if (author.kind === 'ai') return AI_COLOR
  if (author.kind === 'user' && typeof author.id === 'number') return userColor(author.id).color
  return UNKNOWN_COLOR
}

export function authorLabel(author: Author): string {
  if (author.kind === 'unknown') return t('authors.unknown')
  if (author.kind === 'ai') {
    // The server names it "AI · <task type>"; the type in the interface's language when known.
    const type = (author.name ?? '').replace(/^AI · /, '')
    const kind = t(`ai.kind.${type}`)
    const name = type && kind !== `ai.kind.${type}` ? `AI · ${kind}` : (author.name ?? 'AI')
    return `${name}${author.user_name ? ` (${author.user_name})` : ''}`
  }
  return author.name ?? `#${author.id}`
}

/** The runs with code-point offsets (the server's) turned into UTF-16 ones (CodeMirror's). */
export function utf16Runs(text: string, runs: AuthorRun[]): AuthorRun[] {
  const out: AuthorRun[] = []
  let points = 0
  let units = 0
  const advance = (target: number): number => {
    while (points < target && units < text.length) {
      const unit = text.charCodeAt(units)
      units += unit >= 0xd800 && unit <= 0xdbff && units + 1 < text.length ? 2 : 1
      points++
    }
    return units
  }
  for (const run of runs) {
    if (run.from < points) continue
    const from = advance(run.from)
    const to = advance(run.to)
    if (to > from) out.push({ ...run, from, to })
  }
  return out
}

function codePoints(text: string): number {
  let count = 0
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    if (!(unit >= 0xdc00 && unit <= 0xdfff && i > 0 && text.charCodeAt(i - 1) >= 0xd800 && text.charCodeAt(i - 1) <= 0xdbff)) count++
  }
  return count
}

const setAuthorRuns = StateEffect.define<AuthorRun[]>()

const authorField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(marks, tr) {
    marks = marks.map(tr.changes)
    for (const effect of tr.effects) {
      if (effect.is(setAuthorRuns)) marks = decorations(effect.value, tr.state.doc.length)
    }
    return marks
  },
  provide: (field) => EditorView.decorations.from(field),
})

function decorations(runs: AuthorRun[], length: number): DecorationSet {
  const builder = new RangeSetBuilder<Decoration>()
  for (const run of runs) {
    if (run.to > length || run.from >= run.to) continue
    builder.add(
      run.from,
      run.to,
      Decoration.mark({
        class: `cm-author cm-author-${run.author.kind}`,
        attributes: {
          'data-author': authorKey(run.author),
          style: `background-color: ${authorColor(run.author)}33; box-shadow: inset 0 -2px 0 ${authorColor(run.author)}`,
        },
      }),
    )
  }
  return builder.finish()
}

/** Install in the editor: the authors view draws through it. */
export const authorMarks: Extension = authorField

export interface AuthorsView {
  /** Toggles the view (for the title row). */
  button: HTMLButtonElement
  /** Characters per author, chapter and work (shown while the view is on). */
  legend: HTMLElement
  destroy(): void
}

// After an edit, the colours are read again once typing pauses this long.
const REFRESH_AFTER_EDIT_MS = 1200
const MAX_STALE_READS = 5

export function authorsView(options: { view: EditorView; text: Y.Text; chapterId: number; workId: number }): AuthorsView {
  const { view, text, chapterId, workId } = options
  let on = false
  let loading = false
  let again = false
  let timer = 0
  let staleReads = 0
  const legend = h('div', { class: 'authors-legend', 'data-testid': 'authors-legend', hidden: true })
  const button = h(
    'button',
    { class: 'small', 'data-testid': 'authors-toggle', 'aria-pressed': 'false', onclick: () => toggle() },
    t('authors.view'),
  )

  const show = (chapter: ChapterAuthorship, work: WorkAuthorship) => {
    const doc = view.state.doc.toString()
    view.dispatch({ effects: setAuthorRuns.of(utf16Runs(doc, chapter.runs)) })
    // The text changed while the answer was on its way (or the server has not stored this
    // editor's last edits yet): read it again, a few times at most until the next edit.
    const current = codePoints(doc) === chapter.length
    staleReads = current ? 0 : staleReads + 1
    if (!current && staleReads <= MAX_STALE_READS) again = true
    const inWork = new Map(work.authors.map((total) => [authorKey(total.author), total]))
    const inChapter = new Map(chapter.authors.map((total) => [authorKey(total.author), total]))
    const everyone = [...chapter.authors, ...work.authors.filter((total) => !inChapter.has(authorKey(total.author)))]
    const row = ({ author }: AuthorTotal) => {
      const key = authorKey(author)
      const here = inChapter.get(key)?.chars ?? 0
      const all = inWork.get(key)?.chars ?? 0
      return h(
        'tr',
        { 'data-testid': 'author-row', 'data-author': key, 'data-kind': author.kind, 'data-chapter-chars': here, 'data-work-chars': all },
        h('td', {}, h('span', { class: 'dot', style: `background:${authorColor(author)}` }), ' ', authorLabel(author)),
        h('td', { class: 'num' }, here),
        h('td', { class: 'num' }, all),
      )
    }
    replace(
      legend,
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, h('th', {}, t('authors.author')), h('th', { class: 'num' }, t('authors.chapter')), h('th', { class: 'num' }, t('authors.work')))),
        h('tbody', {}, everyone.length ? everyone.map(row) : h('tr', {}, h('td', { colspan: 3, class: 'muted' }, t('authors.none')))),
      ),
      h('p', { class: 'muted' }, t('authors.hint')),
    )
    legend.dataset.state = current ? 'current' : 'stale'
  }

  const refresh = async () => {
    if (loading) {
      again = true
      return
    }
    loading = true
    again = false
    try {
      const [chapter, work] = await Promise.all([
        get<ChapterAuthorship>(`/chapters/${chapterId}/authorship`),
        get<WorkAuthorship>(`/works/${workId}/authorship`),
      ])
      if (on) show(chapter, work)
    } catch (error) {
      replace(legend, h('p', { class: 'message error' }, error instanceof Error ? error.message : String(error)))
    } finally {
      loading = false
    }
    if (on && again) schedule()
  }
  const schedule = () => {
    clearTimeout(timer)
    timer = window.setTimeout(() => void refresh(), REFRESH_AFTER_EDIT_MS)
  }
  const edited = () => {
    staleReads = 0
    if (on) schedule()
  }

  const toggle = () => {
    on = !on
    button.setAttribute('aria-pressed', String(on))
    legend.hidden = !on
    clearTimeout(timer)
    if (on) {
      delete legend.dataset.state
      void refresh()
    } else {
      view.dispatch({ effects: setAuthorRuns.of([]) })
    }
  }
  text.observe(edited)
  return {
    button,
    legend,
    destroy() {
      clearTimeout(timer)
      text.unobserve(edited)
    },
  }
}
