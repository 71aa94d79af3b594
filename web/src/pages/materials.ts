// The materials library as a page of its own: browse, filter, read and add (no editor to insert
// into: that is the chapter page's materials tab).

import { h } from '../dom'
import { t } from '../i18n'
import { materialsPanel } from '../panels/materials'
import { topBar } from '../shell'

export function materialsLibraryPage(root: HTMLElement): void {
  const open = Number(new URLSearchParams(location.search).get('open')) || null
  root.append(
    topBar(),
    h('main', { class: 'page' }, h('h1', {}, t('materials.title')), materialsPanel({ insert: null, create: true, open })),
  )
}
