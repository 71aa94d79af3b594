// Fountain highlighting for script works: each line is classified (scene heading, character cue,
// parenthetical, dialogue, transition, ...) and styled with a line decoration.

import { type Extension, RangeSetBuilder, type Text } from '@codemirror/state'
import { Decoration, type DecorationSet, EditorView, ViewPlugin, type ViewUpdate } from '@codemirror/view'

export type LineKind =
  | 'title'
  | 'scene'
  | 'character'
  | 'parenthetical'
  | 'dialogue'
  | 'transition'
  | 'centered'
  | 'section'
  | 'synopsis'
  | 'note'
  | 'pagebreak'
  | null

const SCENE = /^(?:(?:INT|EXT|EST|INT\.?\/EXT|I\/E)[. ]|(?:内景|外景|内外景|内\/外景)(?:[\s.。：:]|$))/i
const FORCED_SCENE = /^\.[^.]/
const TRANSITION = /^[A-Z\s]+TO:$|^(?:切至|切到|淡入|淡出|叠化|转场|闪回)[:：]?$/
const CHARACTER_CAPS = /^[A-Z][A-Z0-9 .'\-]*(?:\s*\([^)]*\))?\s*\^?$/
const CHARACTER_CJK = /^[\u3400-\u9fff·]{1,10}(?:\s*[（(][^)）]*[)）])?$/u
const PARENTHETICAL = /^\s*[（(].*[)）]\s*$/

/** Classify every line of a Fountain screenplay. */
export function classifyFountain(lines: string[]): LineKind[] {
  const kinds: LineKind[] = []
  let inDialogue = false
  let inTitlePage = /^\s*[A-Za-z][A-Za-z ]*:/.test(lines[0] ?? '')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    const trimmed = line.trim()
    const blankBefore = i === 0 || lines[i - 1].trim() === ''
    const blankAfter = i === lines.length - 1 || lines[i + 1].trim() === ''
    if (trimmed === '') {
      kinds.push(null)
      inDialogue = false
      inTitlePage = false
      continue
    }
    if (inTitlePage) {
      kinds.push('title')
      continue
    }
    let kind: LineKind = null
    if (inDialogue) {
      kind = PARENTHETICAL.test(trimmed) ? 'parenthetical' : 'dialogue'
    } else if (/^={3,}$/.test(trimmed)) {
      kind = 'pagebreak'
    } else if (trimmed.startsWith('#')) {
      kind = 'section'
    } else if (/^=(?!=)/.test(trimmed)) {
      kind = 'synopsis'
    } else if (/^\[\[.*\]\]$/.test(trimmed)) {
      kind = 'note'
    } else if (/^>.*<$/.test(trimmed)) {
      kind = 'centered'
    } else if (trimmed.startsWith('>')) {
      kind = 'transition'
    } else if (trimmed.startsWith('!')) {
      kind = null // forced action
    } else if (blankBefore && (FORCED_SCENE.test(trimmed) || SCENE.test(trimmed))) {
      kind = 'scene'
    } else if (blankBefore && blankAfter && TRANSITION.test(trimmed)) {
      kind = 'transition'
    } else if (
      blankBefore &&
      !blankAfter &&
      (trimmed.startsWith('@') || CHARACTER_CAPS.test(trimmed) || CHARACTER_CJK.test(trimmed))
    ) {
      kind = 'character'
      inDialogue = true
    }
    kinds.push(kind)
  }
  return kinds
}

function lineDecorations(doc: Text): DecorationSet {
  const lines: string[] = []
  for (let n = 1; n <= doc.lines; n++) lines.push(doc.line(n).text)
  const kinds = classifyFountain(lines)
  const builder = new RangeSetBuilder<Decoration>()
  kinds.forEach((kind, i) => {
    if (kind) builder.add(doc.line(i + 1).from, doc.line(i + 1).from, Decoration.line({ class: `fountain-${kind}` }))
  })
  return builder.finish()
}

const fountainPlugin = ViewPlugin.fromClass(
  class {
    decorations: DecorationSet
    constructor(view: EditorView) {
      this.decorations = lineDecorations(view.state.doc)
    }
    update(update: ViewUpdate) {
      if (update.docChanged) this.decorations = lineDecorations(update.state.doc)
    }
  },
  { decorations: (plugin) => plugin.decorations },
)

export const fountain: Extension = [
  fountainPlugin,
  EditorView.baseTheme({
    '.fountain-scene': { fontWeight: '700', textTransform: 'uppercase', color: '#1d4e89' },
    '.fountain-character': { paddingLeft: '38%', fontWeight: '600', color: '#7a3e9d' },
    '.fountain-parenthetical': { paddingLeft: '31%', fontStyle: 'italic', color: '#666' },
    '.fountain-dialogue': { paddingLeft: '22%', paddingRight: '18%' },
    '.fountain-transition': { textAlign: 'right', fontWeight: '600', color: '#a14b00' },
    '.fountain-centered': { textAlign: 'center' },
    '.fountain-section, .fountain-synopsis, .fountain-note': { color: '#888' },
    '.fountain-title': { color: '#555', fontStyle: 'italic' },
    '.fountain-pagebreak': { color: '#bbb' },
  }),
]
