// Comments (批注): comment on the selected text, threads with replies, resolve/reopen, delete,
// and (for the owner) whether viewers may comment. The list is the document's own `comments`
// map, so it updates live; every change goes through the REST API (api/routers/comments.py).

import type { EditorView } from '@codemirror/view'
import type * as Y from 'yjs'
import { call, get } from '../api'
import { formatTime, h, replace } from '../dom'
import { attempt, onSubmit } from '../forms'
import { t } from '../i18n'
import { reportButton } from '../report'
import { messageLine } from '../shell'
import type { Role } from '../types'
import { anchorOf, type CommentEntry, readThreads, type ThreadState, watchComments } from '../editor/comment-anchors'

const MAX_QUOTE = 500

interface Policy {
  work_id: number
  viewers_may_comment: boolean
}

export interface CommentsOptions {
  chapterId: number
  workId: number
  role: Role | null
  userId: number
  view: EditorView
  doc: Y.Doc
  text: Y.Text
}

export function commentsPanel(options: CommentsOptions): { element: HTMLElement; destroy(): void } {
  const { chapterId, workId, role, userId, view, doc, text } = options
  const path = `/chapters/${chapterId}/comments`
  const message = messageLine('comments-message')
  const list = h('ul', { class: 'comment-threads', 'data-testid': 'comment-threads' })
  let active: string | null = null
  let viewersMayComment = false

  // Writing ----------------------------------------------------------------------------------

  const body = h('textarea', {
    rows: 2,
    maxlength: 5000,
    placeholder: t('comments.placeholder'),
    'data-testid': 'comment-body',
  })
  const add = h('button', { type: 'submit', class: 'primary', 'data-testid': 'comment-add' }, t('comments.add'))
  const closed = h('p', { class: 'muted', 'data-testid': 'comments-closed', hidden: true }, t('comments.closed'))
  const create = async () => {
    const { from, to } = view.state.selection.main
    if (from === to) {
      message.info(t('comments.selectFirst'))
      return
    }
    const made = await attempt(
      message,
      () =>
        call<ThreadState>('POST', path, {
          body: {
            body: body.value.trim(),
            anchor: anchorOf(text, from, to),
            quote: view.state.doc.sliceString(from, to).slice(0, MAX_QUOTE),
          },
        }),
      { buttons: [add] },
    )
    if (made) {
      body.value = ''
      if (role === 'viewer') closed.hidden = true
      active = made.id
      watcher.redraw()
    } else if (role === 'viewer') {
      await loadPolicy() // refused: perhaps the owner just closed comments
    }
  }
  const form = h('form', { class: 'comment-form', onsubmit: onSubmit(create) }, body, add)

  // Only the owner sets it; a viewer is told when it is off (the server decides either way).
  const policyBox = h('input', { type: 'checkbox', 'data-testid': 'comment-policy' })
  policyBox.addEventListener('change', () => {
    const wanted = policyBox.checked
    void attempt(message, async () => {
      const saved = await call<Policy>('PUT', `/works/${workId}/comment-policy`, { body: { viewers_may_comment: wanted } })
      policyBox.checked = saved.viewers_may_comment
    }).then((done) => {
      if (done === undefined) policyBox.checked = !wanted
    })
  })
  const policy = h('label', { class: 'comment-policy', hidden: role !== 'owner' }, policyBox, t('comments.viewersMayComment'))
  const loadPolicy = async () => {
    const found = await get<Policy>(`/works/${workId}/comment-policy`).catch(() => null)
    if (!found) return
    viewersMayComment = found.viewers_may_comment
    policyBox.checked = viewersMayComment
    closed.hidden = role !== 'viewer' || viewersMayComment
  }
  void loadPolicy()

  // Threads ----------------------------------------------------------------------------------

  // A thread's reply field outlives re-renders: a live change elsewhere must not wipe a reply
  // being typed.
  const replyForms = new Map<string, HTMLFormElement>()
  const replyForm = (thread: ThreadState): HTMLFormElement => {
    const found = replyForms.get(thread.id)
    if (found) return found
    const input = h('input', { maxlength: 5000, placeholder: t('comments.replyPlaceholder'), 'data-testid': 'comment-reply-body' })
    const send = h('button', { type: 'submit', class: 'small', 'data-testid': 'comment-reply' }, t('comments.reply'))
    const made = h(
      'form',
      {
        class: 'comment-reply-form',
        onsubmit: onSubmit(async () => {
          const done = await attempt(
            message,
            () => call('POST', `${path}/${thread.id}/replies`, { body: { body: input.value.trim() } }),
            { buttons: [send] },
          )
          if (done) input.value = ''
        }),
      },
      input,
      send,
    )
    replyForms.set(thread.id, made)
    return made
  }

  const act = (method: string, url: string) => () => void attempt(message, () => call(method, url))
  const remove = (id: string) => () => {
    if (confirm(t('comments.confirmDelete'))) act('DELETE', `${path}/${id}`)()
  }
  const mayDelete = (comment: CommentEntry) => role === 'owner' || comment.author.id === userId

  const select = (thread: ThreadState) => {
    active = thread.id
    watcher.redraw()
    render(current)
    // Where its text is now, not where it was when the list was drawn.
    const now = readThreads(doc, text).find((found) => found.id === thread.id)
    if (!now || now.orphaned) return
    view.dispatch({ selection: { anchor: now.from!, head: now.to! }, scrollIntoView: true })
    view.focus()
  }

  const comment = (entry: CommentEntry, testid: string) =>
    h(
      'div',
      { class: 'comment', 'data-testid': testid, 'data-comment': entry.id },
      h(
        'div',
        { class: 'comment-head' },
        h('strong', {}, entry.author.name),
        h('span', { class: 'muted' }, formatTime(entry.created_at)),
        mayDelete(entry)
          ? h('button', { class: 'small link', 'data-testid': 'comment-delete', onclick: remove(entry.id) }, t('comments.delete'))
          : null,
        // 举报: anyone but its author (an administrator may hide it: `report_targets`).
        entry.author.id !== userId ? reportButton('comment', `${chapterId}-${entry.id}`) : null,
      ),
      h('p', { class: 'comment-text', 'data-testid': 'comment-text' }, entry.body),
    )

  const threadItem = (thread: ThreadState): HTMLElement => {
    const state = thread.orphaned ? 'orphaned' : thread.resolved ? 'resolved' : 'open'
    return h(
      'li',
      {
        class: `comment-thread ${state}${thread.id === active ? ' active' : ''}`,
        'data-testid': 'comment-thread',
        'data-thread': thread.id,
        'data-state': state,
        'data-resolved': String(thread.resolved),
        'data-orphaned': String(thread.orphaned),
      },
      h(
        'blockquote',
        { class: 'comment-quote', 'data-testid': 'comment-quote', title: t('comments.show'), onclick: () => select(thread) },
        thread.orphaned ? h('span', { class: 'badge', 'data-testid': 'comment-orphaned' }, t('comments.orphaned')) : null,
        thread.text ?? thread.quote,
      ),
      comment(thread, 'comment-root'),
      thread.replies.length
        ? h('div', { class: 'comment-replies' }, thread.replies.map((reply) => comment(reply, 'comment-reply-item')))
        : null,
      thread.resolved
        ? h('p', { class: 'muted' }, t('comments.resolvedBy').replace('{by}', thread.resolved_by ?? ''))
        : null,
      h(
        'div',
        { class: 'comment-actions' },
        thread.resolved
          ? h('button', { class: 'small', 'data-testid': 'comment-reopen', onclick: act('POST', `${path}/${thread.id}/reopen`) }, t('comments.reopen'))
          : h('button', { class: 'small', 'data-testid': 'comment-resolve', onclick: act('POST', `${path}/${thread.id}/resolve`) }, t('comments.resolve')),
      ),
      replyForm(thread),
    )
  }

  let current: ThreadState[] = []
  const render = (threads: ThreadState[]) => {
    current = threads
    for (const id of replyForms.keys()) if (!threads.some((thread) => thread.id === id)) replyForms.delete(id)
    const open = threads.filter((thread) => !thread.resolved).length
    count.textContent = t('comments.count').replace('{open}', String(open)).replace('{all}', String(threads.length))
    replace(list, threads.length ? threads.map(threadItem) : h('li', { class: 'muted' }, t('comments.none')))
  }
  const count = h('p', { class: 'muted', 'data-testid': 'comments-count' })
  const watcher = watchComments(view, doc, text, () => active, render)

  const element = h(
    'div',
    { class: 'comments-panel', 'data-testid': 'comments-panel' },
    policy,
    closed,
    form,
    message,
    count,
    list,
  )
  return { element, destroy: () => watcher.stop() }
}
