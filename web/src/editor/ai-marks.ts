// AI text: characters the AI inserted carry the Y.Text attribute {ai: task_id}. This module
// finds them, highlights them in the editor, and keeps human typing from inheriting the mark.

import { StateEffect, StateField, type Extension, RangeSetBuilder } from '@codemirror/state'
import { Decoration, type DecorationSet, EditorView } from '@codemirror/view'
import { ySyncFacet } from 'y-codemirror.next'
import type * as Y from 'yjs'

export interface AiRange {
  task: string
  from: number
  to: number
}

/** The runs of AI text in document order (UTF-16 offsets, as CodeMirror counts). */
export function aiRanges(ytext: Y.Text): AiRange[] {
  const ranges: AiRange[] = []
  let pos = 0
  for (const op of ytext.toDelta() as { insert: unknown; attributes?: Record<string, unknown> }[]) {
    const length = typeof op.insert === 'string' ? op.insert.length : 1
    const task = op.attributes?.ai
    if (typeof task === 'string' || typeof task === 'number') {
      const last = ranges[ranges.length - 1]
      if (last && last.task === String(task) && last.to === pos) last.to += length
      else ranges.push({ task: String(task), from: pos, to: pos + length })
    }
    pos += length
  }
  return ranges
}

const setAiMarks = StateEffect.define<AiRange[]>()

const aiMarkField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(marks, tr) {
    marks = marks.map(tr.changes)
    for (const effect of tr.effects) {
      if (effect.is(setAiMarks)) marks = decorations(effect.value, tr.state.doc.length)
    }
    return marks
  },
  provide: (field) => EditorView.decorations.from(field),
})

function decorations(ranges: AiRange[], length: number): DecorationSet {
  const builder = new RangeSetBuilder<Decoration>()
  for (const range of ranges) {
    if (range.to > length || range.from >= range.to) continue
    builder.add(
      range.from,
      range.to,
      Decoration.mark({ class: 'cm-ai-text', attributes: { 'data-ai-task': range.task } }),
    )
  }
  return builder.finish()
}

/**
 * Highlight AI text in `view` and report its runs to `onChange` whenever they change.
 * Returns a function that stops watching.
 */
export function watchAiText(
  view: EditorView,
  ytext: Y.Text,
  onChange: (ranges: AiRange[]) => void,
): () => void {
  let scheduled = false
  let last = ''
  const refresh = () => {
    scheduled = false
    // The editor applies remote changes in its own observer; wait until both agree.
    if (ytext.length !== view.state.doc.length) return schedule()
    const ranges = aiRanges(ytext)
    view.dispatch({ effects: setAiMarks.of(ranges) })
    const key = JSON.stringify(ranges)
    if (key !== last) {
      last = key
      onChange(ranges)
    }
  }
  const schedule = () => {
    if (scheduled) return
    scheduled = true
    setTimeout(refresh, 30)
  }
  const unmark = unmarkHumanTyping(view, ytext)
  ytext.observe(schedule)
  schedule()
  return () => {
    ytext.unobserve(schedule)
    unmark()
  }
}

export const aiMarks: Extension = [
  aiMarkField,
  EditorView.baseTheme({
    '.cm-ai-text': {
      backgroundColor: 'rgba(124, 92, 255, 0.14)',
      borderBottom: '1px dashed rgba(124, 92, 255, 0.8)',
    },
  }),
]

/**
 * Yjs gives an insert without attributes the attributes of the character before it, so a writer
 * typing right after (or inside) AI text would produce characters marked as the AI's, and a
 * reject would delete them. Strip the mark from what this editor's user typed.
 */
function unmarkHumanTyping(view: EditorView, ytext: Y.Text): () => void {
  const local = view.state.facet(ySyncFacet)
  const observer = (event: Y.YTextEvent, transaction: Y.Transaction) => {
    if (transaction.origin !== local) return
    const marked: [number, number][] = []
    let pos = 0
    for (const op of event.delta) {
      if (op.retain) pos += op.retain
      else if (typeof op.insert === 'string') {
        if (op.attributes && 'ai' in op.attributes) marked.push([pos, op.insert.length])
        pos += op.insert.length
      }
    }
    if (marked.length === 0) return
    // Same origin as the typing: the editor's sync plugin skips it (a format changes no text,
    // and a dispatch now would land inside the editor's own update), and undo takes both.
    ytext.doc?.transact(() => {
      for (const [index, length] of marked) ytext.format(index, length, { ai: null })
    }, local)
  }
  ytext.observe(observer)
  return () => ytext.unobserve(observer)
}
