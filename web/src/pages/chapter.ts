// The chapter editor: CodeMirror bound to the chapter's live Y.Text, presence, 字数, connection
// state, AI actions, versions, materials and export.

import { standardKeymap } from '@codemirror/commands'
import { Compartment, EditorState } from '@codemirror/state'
import { EditorView, keymap, placeholder } from '@codemirror/view'
import { yCollab, yUndoManagerKeymap } from 'y-codemirror.next'
import * as Y from 'yjs'
import { get } from '../api'
import { h } from '../dom'
import { attempt } from '../forms'
import { t } from '../i18n'
import { commentsPanel } from '../panels/comments'
import { exportPanel } from '../panels/export'
import { materialsPanel } from '../panels/materials'
import { versionsPanel } from '../panels/versions'
import { navigate } from '../router'
import { currentSession } from '../session'
import { describeError, messageLine, topBar } from '../shell'
import type { Chapter, WorkDetail } from '../types'
import { AiPanel, type PolishStyle } from '../editor/ai'
import { aiMarks, watchAiText } from '../editor/ai-marks'
import { authorMarks, authorsView } from '../editor/authors'
import { connect, type ConnectionState } from '../editor/collab'
import { commentMarks } from '../editor/comment-anchors'
import { writingComfort } from '../editor/comfort'
import { fountain } from '../editor/fountain'
import { presenceList } from '../editor/presence'
import { countWords } from '../editor/text'

const DEMOTED_FLASH = 'inkweave:demoted'

export async function chapterPage(
  root: HTMLElement,
  params: { workId: string; chapterId: string },
): Promise<void | (() => void)> {
  const main = h('main', { class: 'page editor-page' })
  const message = messageLine()
  root.append(topBar(), main)
  main.append(message)
  const session = currentSession()
  if (!session) return
  const work = await attempt(message, () => get<WorkDetail>(`/works/${params.workId}`))
  if (!work) return
  // The chapter itself, not the work's list: that holds only its first page of chapters.
  const chapter = await get<Chapter>(`/chapters/${params.chapterId}`).catch(() => null)
  if (!chapter || chapter.work_id !== work.id) {
    message.show(t('editor.noChapter'))
    return
  }
  let canWrite = work.role === 'owner' || work.role === 'editor'

  const collab = connect(chapter.content_id, session)
  const undoManager = new Y.UndoManager(collab.text)
  // Undo never reaches across a version restore (DESIGN, invariant 4): what was typed before it
  // may have been removed or re-created by the restore, and undoing it would mix old and new text.
  collab.onRestored((stamp, live) => {
    undoManager.clear()
    if (live && stamp.by !== session.username) {
      message.info(t('editor.restoredBy').replace('{by}', stamp.by).replace('{name}', stamp.version_name))
    }
  })
  const editable = new Compartment()
  const words = h('span', { class: 'badge', 'data-testid': 'wordcount' }, '0')
  // At most one count per 120 ms, and always one within 120 ms of a change: a debounce that
  // restarted on every change never counted while the AI streamed (each piece reset it).
  let countTimer = 0
  let latest: EditorState | null = null
  const recount = (state: EditorState) => {
    latest = state
    if (countTimer) return
    countTimer = window.setTimeout(() => {
      countTimer = 0
      words.textContent = String(countWords(latest?.doc.toString() ?? ''))
      words.dataset.count = words.textContent
    }, 120)
  }
  // A chapter is a screenplay (Fountain) exactly when its work is a script: a conversion to
  // script always lands in a script work, never in a novel.
  const isScreenplay = work.type === 'script'
  const comfort = writingComfort({ screenplay: isScreenplay })
  const writable = (yes: boolean) => [EditorState.readOnly.of(!yes), EditorView.editable.of(yes)]
  const view = new EditorView({
    parent: h('div'),
    state: EditorState.create({
      doc: collab.text.toString(),
      extensions: [
        yCollab(collab.text, collab.provider.awareness, { undoManager }),
        keymap.of([...yUndoManagerKeymap, ...standardKeymap]),
        EditorView.lineWrapping,
        placeholder(t('editor.placeholder')),
        editable.of(writable(canWrite)),
        aiMarks,
        commentMarks,
        authorMarks,
        isScreenplay ? fountain : [],
        comfort.extensions,
        EditorView.contentAttributes.of({ 'aria-label': chapter.title ?? t('work.untitled') }),
        EditorView.updateListener.of((update) => {
          if (!update.docChanged) return
          recount(update.state)
        }),
      ],
    }),
  })
  recount(view.state)

  const presence = presenceList(collab.provider)
  const ai = new AiPanel({ work, chapter, view, canWrite })
  const stopAi = watchAiText(view, collab.text, (ranges) => ai.showRanges(ranges))
  const comments = commentsPanel({
    chapterId: chapter.id,
    workId: work.id,
    role: work.role,
    userId: session.user_id,
    view,
    doc: collab.doc,
    text: collab.text,
  })
  const authors = authorsView({ view, text: collab.text, chapterId: chapter.id, workId: work.id })
  const run = (action: () => Promise<void>) => () => void action().catch((error) => ai.message.show(describeError(error)))

  const length = h(
    'select',
    { 'data-testid': 'ai-length', title: t('ai.length') },
    [100, 300, 800].map((n) => h('option', { value: n, selected: n === 300 }, `${n} ${t('unit.words')}`)),
  )
  const alternatives = h(
    'select',
    { 'data-testid': 'ai-alternatives-count', title: t('ai.alternatives') },
    [1, 2, 3].map((n) => h('option', { value: n }, n === 1 ? '×1' : `×${n}`)),
  )
  const style = h(
    'select',
    { 'data-testid': 'ai-style', title: t('ai.style') },
    (['literary', 'formal', 'casual'] as PolishStyle[]).map((s) => h('option', { value: s }, t(`ai.style.${s}`))),
  )
  const toolbar = h(
    'div',
    { class: 'toolbar', hidden: !canWrite },
    h('button', { class: 'primary', 'data-testid': 'ai-continue', onclick: run(() => ai.continueAtCursor(Number(length.value), Number(alternatives.value))) }, t('ai.continue')),
    length,
    alternatives,
    h('button', { 'data-testid': 'ai-polish', onclick: run(() => ai.polishSelection(style.value as PolishStyle, Number(alternatives.value))) }, t('ai.polish')),
    style,
    work.type === 'novel'
      ? h('button', { 'data-testid': 'ai-convert', onclick: run(() => ai.convertToScript()) }, t('ai.convert'))
      : null,
  )

  const readOnlyBadge = h('span', { class: 'badge readonly', 'data-testid': 'readonly', hidden: canWrite }, t('editor.readOnly'))
  const makeReadOnly = (why: string) => {
    canWrite = false
    view.dispatch({ effects: editable.reconfigure(writable(false)) })
    readOnlyBadge.hidden = false
    toolbar.hidden = true
    message.info(why)
  }
  // Viewers hear this on every connection; for a writer it means the role was just lowered.
  // For a writer it means the role was just lowered: what it typed since then was refused and
  // exists only on this screen (and in this browser's copy). Start again from the server's text.
  collab.onPermissionDenied(() => {
    if (!canWrite) return
    makeReadOnly(t('editor.permissionDenied'))
    sessionStorage.setItem(DEMOTED_FLASH, t('editor.demoted'))
    void collab.discardLocalCopy().finally(() => navigate(location.pathname, { replace: true }))
  })
  // Removed from the work (or the work trashed): the page is already read-only ('denied' below),
  // but what it shows may hold edits the server refused, and none of it can be kept. The text
  // goes away and the page says why.
  const editorBox = h('div', { class: 'editor', 'data-testid': 'editor' }, view.dom)
  collab.onAccessLost(() => {
    editorBox.replaceChildren(h('p', { class: 'notice', 'data-testid': 'access-lost' }, t('editor.accessLost')))
  })
  const flash = sessionStorage.getItem(DEMOTED_FLASH)
  if (flash) {
    sessionStorage.removeItem(DEMOTED_FLASH)
    message.info(flash)
  }

  const connection = h('span', { class: 'conn', 'data-testid': 'conn', role: 'status' })
  collab.onState((state: ConnectionState, detail?: string) => {
    connection.dataset.state = state
    connection.textContent = t(`conn.${state}`)
    if (state === 'denied') makeReadOnly(`${t('conn.denied')} (${detail ?? ''})`)
  })

  const insertAtCursor = (text: string) => {
    if (!canWrite) return
    const { from, to } = view.state.selection.main
    view.dispatch({ changes: { from, to, insert: text }, selection: { anchor: from + text.length } })
    view.focus()
  }
  const tabs = sideTabs([
    ['ai', t('tab.ai'), () => ai.element],
    [
      'versions',
      t('tab.versions'),
      () => {
        const panel = versionsPanel(chapter.id, canWrite)
        void panel.refresh()
        return panel.element
      },
    ],
    ['materials', t('tab.materials'), () => materialsPanel(canWrite ? insertAtCursor : null)],
    ['export', t('tab.export'), () => exportPanel(work)],
    ['comments', t('tab.comments'), () => comments.element],
  ])

  main.append(
    h(
      'div',
      { class: 'title-row' },
      h('a', { href: `/works/${work.id}`, 'data-link': true }, `← ${work.title}`),
      h('h1', { 'data-testid': 'chapter-heading' }, chapter.title ?? t('work.untitled')),
      connection,
      h('span', { class: 'muted' }, t('editor.words')),
      words,
      readOnlyBadge,
      comfort.bar(view),
      authors.button,
    ),
    h('div', { class: 'present-row' }, h('span', { class: 'muted' }, `${t('editor.present')}:`), presence.element),
    toolbar,
    authors.legend,
    h('div', { class: 'editor-layout' }, editorBox, tabs),
  )
  if (canWrite) view.focus()

  return () => {
    clearTimeout(countTimer)
    comfort.destroy()
    stopAi()
    comments.destroy()
    authors.destroy()
    presence.destroy()
    view.destroy()
    undoManager.destroy()
    collab.destroy()
  }
}

function sideTabs(tabs: [string, string, () => HTMLElement][]): HTMLElement {
  const body = h('div', { class: 'tab-body' })
  const built = new Map<string, HTMLElement>()
  const buttons: HTMLButtonElement[] = []
  const select = (index: number) => {
    const [id, , build] = tabs[index]
    buttons.forEach((button, i) => button.setAttribute('aria-selected', String(i === index)))
    if (!built.has(id)) built.set(id, build())
    body.replaceChildren(built.get(id)!)
  }
  tabs.forEach(([id, label], index) =>
    buttons.push(h('button', { class: 'tab', role: 'tab', 'data-testid': `tab-${id}`, onclick: () => select(index) }, label)),
  )
  select(0)
  return h('aside', { class: 'side' }, h('div', { class: 'tabs', role: 'tablist' }, buttons), body)
}
