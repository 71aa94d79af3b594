// Comments (批注) as the chapter's Yjs document holds them (`Y.Map "comments"`, written by the
// server; storage/docs/comments.py), their anchors resolved against the live text, and the
// editor decorations that highlight the commented text.

import { type Extension, RangeSetBuilder, StateEffect, StateField } from '@codemirror/state'
import { Decoration, type DecorationSet, EditorView } from '@codemirror/view'
import * as Y from 'yjs'

export const COMMENTS = 'comments'

export interface CommentAuthor {
  id: number | null
  name: string
}

export interface CommentEntry {
  id: string
  author: CommentAuthor
  body: string
  created_at: string
}

export interface ThreadState extends CommentEntry {
  quote: string
  resolved: boolean
  resolved_by: string | null
  /** UTF-16 offsets (as CodeMirror counts) of the text it is on; null when orphaned. */
  from: number | null
  to: number | null
  /** The text it is on now; null when orphaned (`quote` keeps what it was). */
  text: string | null
  orphaned: boolean
  replies: CommentEntry[]
}

/** Two Yjs relative positions as `Y.relativePositionToJSON` writes them: what the server keeps. */
export interface RelativeAnchor {
  from: unknown
  to: unknown
}

/** The anchor of `from`–`to` (UTF-16 offsets): the first character, and the last (assoc −1),
 * as the server makes it from character indices (api/services/text_items.py). */
export function anchorOf(text: Y.Text, from: number, to: number): RelativeAnchor {
  return {
    from: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(text, from, 0)),
    to: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(text, to, -1)),
  }
}

function resolve(doc: Y.Doc, text: Y.Text, position: unknown): number | null {
  if (!position || typeof position !== 'object' || !('item' in position)) return null
  const absolute = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(position), doc)
  return absolute && absolute.type === text ? absolute.index : null
}

function entry(id: string, value: Record<string, unknown>): CommentEntry {
  const author = (value.author ?? {}) as Record<string, unknown>
  return {
    id,
    author: { id: typeof author.id === 'number' ? author.id : null, name: String(author.name ?? '') },
    body: String(value.body),
    created_at: String(value.created_at ?? ''),
  }
}

const byTime = (a: CommentEntry, b: CommentEntry) =>
  a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0

/** The document's threads, oldest first, with replies oldest first and anchors resolved now.
 * Entries that are not comments, and replies whose thread is gone, are left out (as the server
 * reads them). */
export function readThreads(doc: Y.Doc, text: Y.Text): ThreadState[] {
  const content = text.toString()
  const roots = new Map<string, ThreadState>()
  const replies: [string, CommentEntry][] = []
  doc.getMap(COMMENTS).forEach((raw, id) => {
    if (!raw || typeof raw !== 'object' || typeof (raw as { body?: unknown }).body !== 'string') return
    const value = raw as Record<string, unknown>
    if (typeof value.thread === 'string') {
      replies.push([value.thread, entry(id, value)])
      return
    }
    const anchor = (value.anchor ?? {}) as Record<string, unknown>
    const from = resolve(doc, text, anchor.from)
    const to = resolve(doc, text, anchor.to)
    const orphaned = from === null || to === null || to <= from
    roots.set(id, {
      ...entry(id, value),
      quote: String(value.quote ?? ''),
      resolved: Boolean(value.resolved),
      resolved_by: typeof value.resolved_by === 'string' ? value.resolved_by : null,
      from: orphaned ? null : from,
      to: orphaned ? null : to,
      text: orphaned ? null : content.slice(from!, to!),
      orphaned,
      replies: [],
    })
  })
  for (const [thread, reply] of replies) roots.get(thread)?.replies.push(reply)
  for (const root of roots.values()) root.replies.sort(byTime)
  return [...roots.values()].sort(byTime)
}

export interface CommentRange {
  id: string
  from: number
  to: number
  active: boolean
}

const setCommentMarks = StateEffect.define<CommentRange[]>()

const commentMarkField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(marks, tr) {
    marks = marks.map(tr.changes)
    for (const effect of tr.effects) {
      if (effect.is(setCommentMarks)) marks = decorations(effect.value, tr.state.doc.length)
    }
    return marks
  },
  provide: (field) => EditorView.decorations.from(field),
})

function decorations(ranges: CommentRange[], length: number): DecorationSet {
  const builder = new RangeSetBuilder<Decoration>()
  // Mark ranges must be added in order of their start; overlapping threads are fine.
  const sorted = ranges.filter((r) => r.from < r.to && r.to <= length).sort((a, b) => a.from - b.from || a.to - b.to)
  for (const range of sorted) {
    builder.add(
      range.from,
      range.to,
      Decoration.mark({
        class: range.active ? 'cm-comment cm-comment-active' : 'cm-comment',
        attributes: { 'data-comment': range.id },
      }),
    )
  }
  return builder.finish()
}

export const commentMarks: Extension = [
  commentMarkField,
  EditorView.baseTheme({
    '.cm-comment': { backgroundColor: 'rgba(237, 174, 73, 0.28)', borderBottom: '2px solid rgba(237, 174, 73, 0.9)' },
    '.cm-comment-active': { backgroundColor: 'rgba(237, 174, 73, 0.55)' },
  }),
]

/**
 * Keep the open threads highlighted in `view` and report the threads to `onChange` whenever a
 * comment or the text under one changes (not when text elsewhere only moves them).
 * `active()` names the thread to emphasise; `redraw()` applies a change of it at once.
 */
export function watchComments(
  view: EditorView,
  doc: Y.Doc,
  text: Y.Text,
  active: () => string | null,
  onChange: (threads: ThreadState[]) => void,
): { stop(): void; redraw(): void } {
  const comments = doc.getMap(COMMENTS)
  let timer = 0
  let last = ''
  const refresh = () => {
    timer = 0
    // The editor applies remote changes in its own observer; wait until both agree.
    if (text.length !== view.state.doc.length) return schedule()
    const threads = readThreads(doc, text)
    const current = active()
    const ranges = threads
      .filter((thread) => !thread.resolved && !thread.orphaned)
      .map((thread) => ({ id: thread.id, from: thread.from!, to: thread.to!, active: thread.id === current }))
    view.dispatch({ effects: setCommentMarks.of(ranges) })
    const key = JSON.stringify(threads.map(({ from: _from, to: _to, ...shown }) => shown))
    if (key !== last) {
      last = key
      onChange(threads)
    }
  }
  const schedule = () => {
    if (!timer) timer = window.setTimeout(refresh, 30)
  }
  comments.observeDeep(schedule)
  text.observe(schedule)
  schedule()
  return {
    stop() {
      clearTimeout(timer)
      comments.unobserveDeep(schedule)
      text.unobserve(schedule)
    },
    redraw: refresh,
  }
}
