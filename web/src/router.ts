// A History API router: paths like /works/3/chapters/7 map to page functions.

export type Params = Record<string, string>
/** A page renders into `root` and may return a cleanup function run when the user leaves. */
export type Page = (root: HTMLElement, params: Params) => void | (() => void) | Promise<void | (() => void)>

interface Route {
  pattern: RegExp
  names: string[]
  page: Page
}

const routes: Route[] = []
let cleanup: (() => void) | null = null
let root: HTMLElement
let fallback: Page
let generation = 0

export function route(path: string, page: Page): void {
  const names: string[] = []
  const source = path.replace(/:(\w+)/g, (_match, name: string) => {
    names.push(name)
    return '([^/]+)'
  })
  routes.push({ pattern: new RegExp(`^${source}/?$`), names, page })
}

export function startRouter(element: HTMLElement, notFound: Page): void {
  root = element
  fallback = notFound
  window.addEventListener('popstate', () => void render())
  document.addEventListener('click', (event) => {
    const link = (event.target as Element | null)?.closest?.('a[data-link]') as HTMLAnchorElement | null
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return
    event.preventDefault()
    navigate(link.getAttribute('href') ?? '/')
  })
  void render()
}

export function navigate(path: string, { replace = false } = {}): void {
  if (replace) history.replaceState(null, '', path)
  else history.pushState(null, '', path)
  void render()
}

async function render(): Promise<void> {
  const mine = ++generation
  cleanup?.()
  cleanup = null
  root.replaceChildren()
  const path = location.pathname
  let page = fallback
  const params: Params = {}
  for (const candidate of routes) {
    const match = candidate.pattern.exec(path)
    if (!match) continue
    candidate.names.forEach((name, i) => (params[name] = decodeURIComponent(match[i + 1])))
    page = candidate.page
    break
  }
  const done = (await page(root, params)) || null
  // The user may have moved on while the page loaded: clean up at once then.
  if (mine === generation) cleanup = done
  else done?.()
}
