// Version history of a chapter: name the current state, list, preview, see who changed what
// (`version-changes`), restore.

import { get, post } from '../api'
import { formatTime, h, replace } from '../dom'
import { attempt, submitWith } from '../forms'
import { t } from '../i18n'
import { messageLine } from '../shell'
import type { Version, VersionText } from '../types'
import { versionChangesView } from './version-changes'

/** The answer to a restore: `pre_restore_version` holds the text it replaced (null: no change). */
interface Restored {
  changed: boolean
  pre_restore_version: Version | null
}

export function versionsPanel(chapterId: number, canWrite: boolean): { element: HTMLElement; refresh(): Promise<void> } {
  const list = h('ul', { class: 'versions', 'data-testid': 'versions' })
  const preview = h('div', { class: 'preview', 'data-testid': 'version-preview', hidden: true })
  const message = messageLine('versions-message')
  const name = h('input', { placeholder: t('versions.namePlaceholder'), maxlength: 200, required: true, 'data-testid': 'version-name' })

  const refresh = async () => {
    await attempt(message, async () => {
      const versions = await get<Version[]>(`/chapters/${chapterId}/versions`)
      replace(list, versions.length ? versions.map(row) : h('li', { class: 'muted' }, t('versions.none')))
    })
  }

  const row = (version: Version): HTMLElement =>
    h(
      'li',
      { class: 'version', 'data-testid': 'version', 'data-version-id': version.id },
      h('span', { class: 'name' }, version.name),
      h('span', { class: 'muted' }, `${version.author ?? ''} ${formatTime(version.created_at)}`),
      h('button', { class: 'small', 'data-testid': 'version-preview-button', onclick: () => show(version) }, t('versions.preview')),
      h('button', { class: 'small', 'data-testid': 'version-changes-button', onclick: () => showChanges(version) }, t('versions.changes')),
      canWrite
        ? h('button', { class: 'small', 'data-testid': 'version-restore', onclick: () => restore(version) }, t('versions.restore'))
        : null,
    )

  const show = (version: Version) =>
    attempt(message, async () => {
      const found = await get<VersionText>(`/chapters/${chapterId}/versions/${version.id}`)
      preview.hidden = false
      replace(
        preview,
        h(
          'div',
          { class: 'preview-head' },
          h('strong', {}, found.name),
          h('span', { class: 'muted' }, `${found.word_count} ${t('unit.words')}`),
          h('button', { class: 'small', onclick: () => (preview.hidden = true) }, t('common.close')),
        ),
        h('pre', { 'data-testid': 'version-preview-text' }, found.content),
      )
    })

  const showChanges = (version: Version, against?: string) =>
    attempt(message, async () => {
      const view = await versionChangesView(chapterId, version.id, against)
      preview.hidden = false
      const since = against
        ? null
        : h('button', { class: 'small', 'data-testid': 'version-changes-since', onclick: () => showChanges(version, 'current') }, t('changes.sinceNow'))
      replace(
        preview,
        h('div', { class: 'preview-head' }, h('strong', {}, version.name), since, h('button', { class: 'small', onclick: () => (preview.hidden = true) }, t('common.close'))),
        view,
      )
    })

  // "Undo the restore" is restoring the version the server kept of the text it replaced.
  let undoTarget: Version | null = null
  const undoRestore = h(
    'button',
    { class: 'small', hidden: true, 'data-testid': 'version-undo-restore', onclick: () => undoTarget && apply(undoTarget) },
    t('versions.undoRestore'),
  )
  const apply = async (version: Version) => {
    undoRestore.hidden = true
    const done = await attempt(message, () => post<Restored>(`/chapters/${chapterId}/versions/${version.id}/restore`))
    if (!done) return
    await refresh() // the kept version joins the list
    undoTarget = done.pre_restore_version
    message.info(undoTarget ? t('versions.restored').replace('{name}', undoTarget.name) : t('versions.unchanged'))
    undoRestore.hidden = !undoTarget
  }
  const restore = async (version: Version) => {
    if (confirm(t('versions.confirmRestore').replace('{name}', version.name))) await apply(version)
  }

  const create = h(
    'form',
    {
      class: 'row',
      onsubmit: submitWith(message, async () => {
        await post(`/chapters/${chapterId}/versions`, { name: name.value.trim() })
        name.value = ''
        await refresh()
      }),
    },
    name,
    h('button', { type: 'submit', 'data-testid': 'version-create' }, t('versions.create')),
  )

  const element = h('div', { class: 'versions-panel' }, canWrite ? create : null, message, undoRestore, list, preview)
  return { element, refresh }
}
