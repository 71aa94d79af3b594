// Writing comfort on the chapter page: find and replace (CodeMirror's search panel, in the
// interface's language), an optional first-line indent of two full-width spaces (两字缩进) on each
// new paragraph, and a distraction-free mode.

import { EditorSelection, EditorState, Prec, Compartment, type Extension } from '@codemirror/state'
import { EditorView, keymap } from '@codemirror/view'
import { insertNewline } from '@codemirror/commands'
import { highlightSelectionMatches, openSearchPanel, search, searchKeymap } from '@codemirror/search'
import { h } from '../dom'
import { language, t } from '../i18n'

const INDENT_KEY = 'inkweave.indent'
/** Two ideographic spaces: how a Chinese paragraph traditionally begins. */
export const PARAGRAPH_INDENT = '\u3000\u3000'
const FOCUS_CLASS = 'focus-mode'

const ZH_PHRASES: Record<string, string> = {
  Find: '查找',
  Replace: '替换为',
  next: '下一个',
  previous: '上一个',
  all: '全选',
  'match case': '区分大小写',
  regexp: '正则',
  'by word': '整词',
  replace: '替换',
  'replace all': '全部替换',
  close: '关闭',
  'Go to line': '跳到行',
  go: '跳转',
  'current match': '当前匹配',
  'on line': '行',
  'replaced match on line $': '已替换第 $ 行的匹配',
  'replaced $ matches': '已替换 $ 处',
}

/** Enter starts the next paragraph indented by two full-width spaces. */
function indentedNewline(view: EditorView): boolean {
  if (view.state.readOnly) return false
  const insert = `\n${PARAGRAPH_INDENT}`
  view.dispatch(
    view.state.changeByRange((range) => ({
      changes: { from: range.from, to: range.to, insert },
      range: EditorSelection.cursor(range.from + insert.length),
    })),
    { scrollIntoView: true, userEvent: 'input' },
  )
  return true
}

export function indentPreferred(): boolean {
  return localStorage.getItem(INDENT_KEY) === '1'
}

export interface Comfort {
  /** Goes into the editor's extensions. */
  extensions: Extension
  /** The buttons, once the view exists. */
  bar(view: EditorView): HTMLElement
  destroy(): void
}

/** `screenplay`: Fountain chapters never get the paragraph indent (it would break scene syntax). */
export function writingComfort({ screenplay }: { screenplay: boolean }): Comfort {
  const indent = new Compartment()
  const indentOn = () => !screenplay && indentPreferred()
  // Off, Enter is a bare line break: the default's copying of the line's indent would turn a
  // paragraph's two full-width spaces into two ASCII ones on the next line.
  const indentKeys = (on: boolean) => Prec.high(keymap.of([{ key: 'Enter', run: on ? indentedNewline : insertNewline }]))
  const leaveFocus = (event: KeyboardEvent) => {
    if (event.key === 'Escape' && document.body.classList.contains(FOCUS_CLASS)) setFocus(false)
  }
  let focusButton: HTMLButtonElement | null = null
  const setFocus = (on: boolean) => {
    document.body.classList.toggle(FOCUS_CLASS, on)
    focusButton?.setAttribute('aria-pressed', String(on))
    if (focusButton) focusButton.textContent = on ? t('comfort.focusExit') : t('comfort.focus')
    if (on) document.addEventListener('keydown', leaveFocus)
    else document.removeEventListener('keydown', leaveFocus)
  }

  return {
    extensions: [
      search({ top: true }),
      highlightSelectionMatches(),
      keymap.of(searchKeymap),
      language() === 'zh' ? EditorState.phrases.of(ZH_PHRASES) : [],
      indent.of(indentKeys(indentOn())),
    ],
    bar(view: EditorView): HTMLElement {
      const indentBox = h('input', { type: 'checkbox', checked: indentOn(), disabled: screenplay, 'data-testid': 'indent-toggle' })
      indentBox.addEventListener('change', () => {
        localStorage.setItem(INDENT_KEY, indentBox.checked ? '1' : '0')
        view.dispatch({ effects: indent.reconfigure(indentKeys(indentBox.checked)) })
        view.focus()
      })
      focusButton = h('button', { class: 'small', 'aria-pressed': 'false', 'data-testid': 'focus-mode', onclick: () => setFocus(!document.body.classList.contains(FOCUS_CLASS)) }, t('comfort.focus'))
      return h(
        'div',
        { class: 'comfort', 'data-testid': 'comfort' },
        h('button', { class: 'small', 'data-testid': 'find-replace', title: 'Ctrl+F', onclick: () => openSearchPanel(view) }, t('comfort.find')),
        h('label', { class: 'check', title: screenplay ? t('comfort.indentScript') : t('comfort.indentHint') }, indentBox, t('comfort.indent')),
        focusButton,
      )
    },
    destroy() {
      setFocus(false)
    },
  }
}
