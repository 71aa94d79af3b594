// Who changed what since the version before (`GET /chapters/{id}/versions/{vid}/changes`):
// inserted text in its author's colour, deleted text struck through (Yjs deletions carry no
// author: the tooltip names whose text it was), with characters inserted and deleted per author.

import { get } from '../api'
import { h } from '../dom'
import { type Author, authorColor, authorKey, authorLabel } from '../editor/authors'
import { t } from '../i18n'

export interface ChangeRun {
  kind: 'same' | 'inserted' | 'deleted'
  text: string
  author: Author | null
  written_by?: Author | null
}

interface ChangeSide {
  version_id?: number
  name?: string
  empty?: boolean
  current?: boolean
}

export interface VersionChanges {
  from: ChangeSide
  to: ChangeSide
  runs: ChangeRun[]
  authors: { author: Author; inserted: number; deleted: number }[]
  inserted: number
  deleted: number
}

const sideLabel = (side: ChangeSide): string =>
  side.current ? t('changes.current') : side.empty ? t('changes.empty') : (side.name ?? '')

function runElement(run: ChangeRun): HTMLElement {
  if (run.kind === 'inserted' && run.author) {
    const color = authorColor(run.author)
    return h(
      'ins',
      { class: 'change-ins', 'data-author': authorKey(run.author), title: authorLabel(run.author), style: `background-color: ${color}33; box-shadow: inset 0 -2px 0 ${color}` },
      run.text,
    )
  }
  if (run.kind === 'deleted') {
    const title = run.written_by ? t('changes.deletedOf').replace('{name}', authorLabel(run.written_by)) : t('changes.deleted')
    return h('del', { class: 'change-del', title }, run.text)
  }
  return h('span', {}, run.text)
}

/** The changes view of one version: `against` another version's id, or 'current'. */
export async function versionChangesView(chapterId: number, versionId: number, against?: string): Promise<HTMLElement> {
  const query = against ? `?against=${encodeURIComponent(against)}` : ''
  const found = await get<VersionChanges>(`/chapters/${chapterId}/versions/${versionId}/changes${query}`)
  const legend = found.authors.map((entry) =>
    h(
      'li',
      { 'data-testid': 'change-author', 'data-author': authorKey(entry.author) },
      h('span', { class: 'dot', style: `background:${authorColor(entry.author)}` }),
      ` ${authorLabel(entry.author)} `,
      h('span', { class: 'muted' }, t('changes.counts').replace('{inserted}', String(entry.inserted)).replace('{deleted}', String(entry.deleted))),
    ),
  )
  return h(
    'div',
    { class: 'version-changes', 'data-testid': 'version-changes' },
    h('p', { class: 'muted' }, t('changes.range').replace('{from}', sideLabel(found.from)).replace('{to}', sideLabel(found.to))),
    found.authors.length ? h('ul', { class: 'change-authors' }, legend) : h('p', { class: 'muted' }, t('changes.none')),
    h('div', { class: 'change-text', 'data-testid': 'version-changes-text' }, found.runs.map(runElement)),
  )
}
