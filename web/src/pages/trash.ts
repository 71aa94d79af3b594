// The trash: works I deleted and chapters deleted from works I own or edit, to restore or delete
// for good.

import { del, get, post, type Page } from '../api'
import { formatTime, h, replace } from '../dom'
import { attempt } from '../forms'
import { t } from '../i18n'
import { messageLine, topBar } from '../shell'
import type { Work } from '../types'

type TrashedWork = Work & { deleted_at: string | null }

interface TrashedChapter {
  id: number
  work_id: number
  work_title: string
  title: string | null
  position: number
  word_count: number
  deleted_at: string
}

export async function trashPage(root: HTMLElement): Promise<void> {
  const list = h('ul', { class: 'works', 'data-testid': 'trash' })
  const chapters = h('ul', { class: 'works', 'data-testid': 'trash-chapters' })
  const message = messageLine()
  root.append(
    topBar(),
    h(
      'main',
      { class: 'page' },
      h('h1', {}, t('trash.title')),
      h('p', { class: 'muted' }, t('trash.hint')),
      message,
      h('h2', {}, t('trash.works')),
      list,
      h('h2', {}, t('trash.chapters')),
      chapters,
    ),
  )
  const load = async () => {
    const [page, trashedChapters] = await Promise.all([
      get<Page<TrashedWork>>('/works/trash', { page_size: 100 }),
      get<Page<TrashedChapter>>('/chapters/trash', { page_size: 100 }),
    ])
    replace(list, page.items.length ? page.items.map(row) : h('li', { class: 'muted' }, t('trash.empty')))
    replace(
      chapters,
      trashedChapters.items.length ? trashedChapters.items.map(chapterRow) : h('li', { class: 'muted' }, t('trash.empty')),
    )
  }
  const chapterRow = (chapter: TrashedChapter): HTMLElement => {
    const title = chapter.title ?? t('work.untitled')
    const where = t('trash.chapterOf').replace('{work}', chapter.work_title).replace('{position}', String(chapter.position))
    return h(
      'li',
      { class: 'work', 'data-testid': 'trash-chapter', 'data-chapter-id': chapter.id },
      h('span', { class: 'work-title' }, title),
      h('span', { class: 'muted' }, `${where} · ${chapter.word_count} ${t('unit.words')}`),
      h('span', { class: 'muted' }, `${t('trash.deletedAt')} ${formatTime(chapter.deleted_at)}`),
      h(
        'button',
        {
          class: 'small primary',
          'data-testid': 'trash-chapter-restore',
          onclick: () =>
            attempt(message, async () => {
              await post(`/chapters/${chapter.id}/restore`)
              await load()
              message.info(t('trash.restored').replace('{title}', title))
            }),
        },
        t('trash.restore'),
      ),
      h(
        'button',
        {
          class: 'small danger',
          'data-testid': 'trash-chapter-purge',
          onclick: () => {
            if (!confirm(t('trash.confirmPurgeChapter').replace('{title}', title))) return
            void attempt(message, async () => {
              await del(`/chapters/${chapter.id}/purge`)
              await load()
            })
          },
        },
        t('trash.purge'),
      ),
    )
  }
  const row = (work: TrashedWork): HTMLElement =>
    h(
      'li',
      { class: 'work', 'data-testid': 'trash-work', 'data-work-id': work.id },
      h('span', { class: 'work-title' }, work.title),
      h('span', { class: `badge ${work.type}` }, t(`type.${work.type}`)),
      h('span', { class: 'muted' }, `${work.chapter_count} ${t('work.chapters')} · ${work.word_count} ${t('unit.words')}`),
      h('span', { class: 'muted' }, `${t('trash.deletedAt')} ${formatTime(work.deleted_at)}`),
      h(
        'button',
        {
          class: 'small primary',
          'data-testid': 'trash-restore',
          onclick: () =>
            attempt(message, async () => {
              await post(`/works/${work.id}/restore`)
              await load()
              message.info(t('trash.restored').replace('{title}', work.title))
            }),
        },
        t('trash.restore'),
      ),
      h(
        'button',
        {
          class: 'small danger',
          'data-testid': 'trash-purge',
          onclick: () => {
            if (!confirm(t('trash.confirmPurge').replace('{title}', work.title))) return
            void attempt(message, async () => {
              await del(`/works/${work.id}/purge`)
              await load()
            })
          },
        },
        t('trash.purge'),
      ),
    )
  await attempt(message, load)
}
