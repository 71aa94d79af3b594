// Reorder a list by dragging its rows (HTML drag and drop): `onMove(from, to)` gets the indexes.

export function sortable(list: HTMLElement, onMove: (from: number, to: number) => void): void {
  let dragged: HTMLElement | null = null
  const rowOf = (target: EventTarget | null) => (target as Element | null)?.closest?.('[draggable=true]') as HTMLElement | null
  const indexOf = (row: HTMLElement) => Array.prototype.indexOf.call(list.children, row)
  list.addEventListener('dragstart', (event) => {
    dragged = rowOf(event.target)
    if (!dragged) return
    dragged.classList.add('dragging')
    event.dataTransfer?.setData('text/plain', dragged.dataset.chapterId ?? '')
    if (event.dataTransfer) event.dataTransfer.effectAllowed = 'move'
  })
  list.addEventListener('dragover', (event) => {
    const over = rowOf(event.target)
    if (!dragged || !over) return
    event.preventDefault() // allow the drop
    for (const row of list.querySelectorAll('.drop-target')) row.classList.remove('drop-target')
    if (over !== dragged) over.classList.add('drop-target')
  })
  list.addEventListener('drop', (event) => {
    const over = rowOf(event.target)
    if (!dragged || !over) return
    event.preventDefault()
    const from = indexOf(dragged)
    const to = indexOf(over)
    if (from >= 0 && to >= 0 && from !== to) onMove(from, to)
  })
  list.addEventListener('dragend', () => {
    dragged?.classList.remove('dragging')
    dragged = null
    for (const row of list.querySelectorAll('.drop-target')) row.classList.remove('drop-target')
  })
}
