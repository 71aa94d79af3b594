// One work: its chapters (add, rename, reorder) and its members (invite, change role, remove).

import { del, get, patch, post } from '../api'
import { h, replace } from '../dom'
import { sortable } from '../drag'
import { attempt, onSubmit } from '../forms'
import { t } from '../i18n'
import { exportPanel } from '../panels/export'
import { deleteChapterButton, deleteWorkButton } from '../panels/delete'
import { storyPanel } from '../panels/story'
import { reportButton } from '../report'
import { navigate } from '../router'
import { currentSession } from '../session'
import { messageLine, topBar } from '../shell'
import type { Chapter, ChapterPage, Member, PendingInvitation, Role, WorkDetail } from '../types'

// Chapters fetched per "load more": a long web novel has thousands.
const CHAPTER_PAGE_SIZE = 500

export async function workPage(root: HTMLElement, params: { id: string }): Promise<void> {
  const main = h('main', { class: 'page' })
  root.append(topBar(), main)
  const message = messageLine()
  main.append(message)
  const loaded = await attempt(message, () => get<WorkDetail>(`/works/${params.id}`))
  if (!loaded) return
  let work = loaded
  const canWrite = work.role === 'owner' || work.role === 'editor'
  const chapters = h('ol', { class: 'chapters', 'data-testid': 'chapters' })
  const moreChapters = h('button', { type: 'button', class: 'small', 'data-testid': 'chapters-more' }, t('work.moreChapters'))
  const members = h('ul', { class: 'members', 'data-testid': 'members' })
  const invitations = h('ul', { class: 'members', 'data-testid': 'invitations' })

  // The work's detail holds the first page of chapters; the rest come a page at a time.
  const nextChapters = async () => {
    if (work.chapters_next === null) return
    const page = await get<ChapterPage>(`/works/${work.id}/chapters`, {
      after: work.chapters_next,
      page_size: CHAPTER_PAGE_SIZE,
    })
    work.chapters.push(...page.items)
    work.chapters_next = page.next
  }
  const allChapters = async () => {
    while (work.chapters_next !== null) await nextChapters()
  }
  moreChapters.addEventListener('click', () =>
    attempt(message, async () => {
      await nextChapters()
      renderChapters()
    }),
  )

  // Not `attempt`: a reload after another panel's action must leave this page's message as it is.
  const reload = async () => {
    try {
      const shown = work.chapters.length
      work = await get<WorkDetail>(`/works/${params.id}`)
      while (work.chapters_next !== null && work.chapters.length < shown) await nextChapters()
      renderChapters()
      renderMembers()
      await renderInvitations()
    } catch (error) {
      message.show(error)
    }
  }
  const act = (action: () => Promise<unknown>) =>
    attempt(message, async () => {
      await action()
      await reload()
    })

  const move = (index: number, by: number) =>
    act(async () => {
      await allChapters() // a reorder names every chapter of the work
      const ids = work.chapters.map((c) => c.id)
      const [moved] = ids.splice(index, 1)
      ids.splice(index + by, 0, moved)
      return post(`/works/${work.id}/chapters/reorder`, { chapter_ids: ids })
    })

  const chapterRow = (chapter: Chapter, index: number): HTMLElement => {
    const link = h(
      'a',
      { href: `/works/${work.id}/chapters/${chapter.id}`, 'data-link': true, 'data-testid': 'chapter-link' },
      chapter.title ?? t('work.untitled'),
    )
    const row = h(
      'li',
      { class: 'chapter', 'data-chapter-id': chapter.id },
      h('span', { class: 'number' }, String(chapter.chapter_number)),
      link,
      h('span', { class: 'muted' }, `${chapter.word_count} ${t('unit.words')}`),
    )
    if (!canWrite) return row
    row.draggable = true
    row.title = t('work.dragHint')
    const rename = () => {
      const input = h('input', { value: chapter.title ?? '', maxlength: 200, 'data-testid': 'chapter-rename-input' })
      const form = h(
        'form',
        {
          class: 'inline',
          onsubmit: onSubmit(() => act(() => patch(`/chapters/${chapter.id}`, { title: input.value.trim() }))),
        },
        input,
        h('button', { type: 'submit', 'data-testid': 'chapter-rename-save' }, t('common.save')),
        h('button', { type: 'button', onclick: () => renderChapters() }, t('common.cancel')),
      )
      link.replaceWith(form)
      input.focus()
    }
    row.append(
      h('button', { class: 'small', title: t('work.moveUp'), disabled: index === 0, onclick: () => move(index, -1), 'data-testid': 'chapter-up' }, '↑'),
      h(
        'button',
        {
          class: 'small',
          title: t('work.moveDown'),
          disabled: index === work.chapters.length - 1 && work.chapters_next === null,
          onclick: () => move(index, 1),
          'data-testid': 'chapter-down',
        },
        '↓',
      ),
      h('button', { class: 'small', onclick: rename, 'data-testid': 'chapter-rename' }, t('work.rename')),
      deleteChapterButton(chapter, act),
    )
    return row
  }

  if (canWrite) sortable(chapters, (from, to) => void move(from, to - from))

  const renderChapters = () => {
    replace(
      chapters,
      work.chapters.length ? work.chapters.map(chapterRow) : h('li', { class: 'muted' }, t('work.noChapters')),
    )
    moreChapters.hidden = work.chapters_next === null
    moreChapters.textContent = `${t('work.moreChapters')} (${work.chapters.length}/${work.chapter_count})`
  }

  const memberRow = (member: Member): HTMLElement => {
    const row = h('li', { class: 'member', 'data-user-id': member.user_id }, h('span', { class: 'name' }, member.username))
    const isOwner = work.role === 'owner'
    if (member.role === 'owner' || !isOwner) {
      row.append(h('span', { class: 'badge' }, t(`role.${member.role}`)))
    } else {
      const select = roleSelect(member.role, 'member-role')
      select.addEventListener('change', () =>
        act(() => patch(`/works/${work.id}/members/${member.user_id}`, { role: select.value })),
      )
      row.append(select)
    }
    const self = member.user_id === currentSession()?.user_id
    if ((isOwner && member.role !== 'owner') || (self && member.role !== 'owner')) {
      row.append(
        h(
          'button',
          {
            class: 'small danger',
            'data-testid': 'member-remove',
            onclick: () => {
              if (!confirm(self ? t('work.confirmLeave') : t('work.confirmRemove'))) return
              void act(async () => {
                await del(`/works/${work.id}/members/${member.user_id}`)
                if (self) navigate('/works')
              })
            },
          },
          self ? t('work.leave') : t('work.remove'),
        ),
      )
    }
    return row
  }

  const renderMembers = () => replace(members, work.members.map(memberRow))

  // Only the owner sees the emails still waiting to sign up (and may cancel them).
  const renderInvitations = async () => {
    if (work.role !== 'owner') return
    const waiting = await get<PendingInvitation[]>(`/works/${work.id}/invitations`)
    replace(
      invitations,
      waiting.length ? h('li', { class: 'muted' }, t('work.pendingInvites')) : null,
      waiting.map((invitation) =>
        h(
          'li',
          { class: 'member', 'data-testid': 'invitation', 'data-email': invitation.email },
          h('span', { class: 'name' }, invitation.email),
          h('span', { class: 'badge' }, t(`role.${invitation.role}`)),
          h(
            'button',
            {
              class: 'small danger',
              'data-testid': 'invitation-cancel',
              onclick: () => act(() => del(`/works/${work.id}/invitations/${invitation.id}`)),
            },
            t('work.cancelInvite'),
          ),
        ),
      ),
    )
  }

  const chapterTitle = h('input', { maxlength: 200, placeholder: t('work.chapterPlaceholder'), 'data-testid': 'chapter-title' })
  const addChapter = h(
    'form',
    {
      class: 'row',
      onsubmit: onSubmit(() => {
        const title = chapterTitle.value.trim()
        chapterTitle.value = ''
        return act(() => post(`/works/${work.id}/chapters`, title ? { title } : {}))
      }),
    },
    chapterTitle,
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'chapter-add' }, t('work.addChapter')),
  )

  const invitee = h('input', { placeholder: t('work.invitePlaceholder'), required: true, 'data-testid': 'invite-who' })
  const inviteRole = roleSelect('editor', 'invite-role')
  const invite = h(
    'form',
    {
      class: 'row',
      onsubmit: onSubmit(() =>
        act(async () => {
          const added = await post<Member | PendingInvitation>(`/works/${work.id}/members`, {
            username_or_email: invitee.value.trim(),
            role: inviteRole.value,
          })
          invitee.value = ''
          if ('pending' in added) message.info(t('work.invitePending'))
        }),
      ),
    },
    invitee,
    inviteRole,
    h('button', { type: 'submit', 'data-testid': 'invite-submit' }, t('work.invite')),
  )

  main.append(
    h(
      'div',
      { class: 'title-row' },
      h('a', { href: '/works', 'data-link': true }, `← ${t('works.title')}`),
      h('h1', { 'data-testid': 'work-heading' }, work.title),
      h('span', { class: `badge ${work.type}` }, t(`type.${work.type}`)),
      h('span', { class: 'badge' }, t(`role.${work.role ?? 'viewer'}`)),
      work.role === 'owner' ? deleteWorkButton(work, message) : reportButton('work', work.id),
    ),
    h(
      'div',
      { class: 'columns' },
      h('section', { class: 'card' }, h('h2', {}, t('work.chapters')), chapters, moreChapters, canWrite ? addChapter : null),
      h(
        'aside',
        {},
        h('section', { class: 'card' }, h('h2', {}, t('work.members')), members, invitations, work.role === 'owner' ? invite : null),
        h('section', { class: 'card' }, h('h2', {}, t('export.title')), exportPanel(work)),
      ),
    ),
    h('section', { class: 'card', 'data-testid': 'story' }, h('h2', {}, t('story.title')), storyPanel(work, canWrite, () => void reload())),
  )
  renderChapters()
  renderMembers()
  void attempt(message, renderInvitations)
}

function roleSelect(role: Role, testid: string): HTMLSelectElement {
  return h(
    'select',
    { 'data-testid': testid },
    h('option', { value: 'editor', selected: role === 'editor' }, t('role.editor')),
    h('option', { value: 'viewer', selected: role === 'viewer' }, t('role.viewer')),
  )
}
