// Deleting from the work page: a work or a chapter goes to the trash (restored from /trash).

import { del } from '../api'
import { h } from '../dom'
import { attempt, type Message } from '../forms'
import { t } from '../i18n'
import { navigate } from '../router'
import type { Chapter, Work } from '../types'

export function deleteWorkButton(work: Work, message: Message): HTMLElement {
  return h(
    'button',
    {
      class: 'small danger',
      'data-testid': 'work-delete',
      onclick: () => {
        if (!confirm(t('trash.confirmDelete').replace('{title}', work.title))) return
        void attempt(message, async () => {
          await del(`/works/${work.id}`)
          navigate('/trash')
        })
      },
    },
    t('trash.delete'),
  )
}

export function deleteChapterButton(chapter: Chapter, act: (action: () => Promise<unknown>) => unknown): HTMLElement {
  return h(
    'button',
    {
      class: 'small danger',
      'data-testid': 'chapter-delete',
      onclick: () => {
        const title = chapter.title ?? t('work.untitled')
        if (!confirm(t('work.confirmDeleteChapter').replace('{title}', title))) return
        void act(() => del(`/chapters/${chapter.id}`))
      },
    },
    t('work.deleteChapter'),
  )
}
