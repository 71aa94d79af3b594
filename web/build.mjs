// Builds the web editor into static files: `node build.mjs [--outdir DIR]`.
//
// The output is committed inside the Python package (api/webui/), so it must be reproducible:
// file names carry a content hash, nothing depends on the clock or on the output folder, and
// the folder is emptied first so no stale asset survives.
import { build } from 'esbuild'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const args = process.argv.slice(2)
const outFlag = args.indexOf('--outdir')
const outdir = resolve(outFlag >= 0 ? args[outFlag + 1] : join(here, '..', 'api', 'webui'))

await rm(outdir, { recursive: true, force: true })
await mkdir(join(outdir, 'assets'), { recursive: true })

const result = await build({
  absWorkingDir: here,
  entryPoints: { app: 'src/main.ts' },
  bundle: true,
  format: 'esm',
  target: ['es2022'],
  minify: true,
  sourcemap: false,
  metafile: true,
  charset: 'utf8',
  legalComments: 'eof',
  outdir: join(outdir, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  logLevel: 'warning',
})

const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file))
const script = outputs.find((name) => name.endsWith('.js'))
const style = outputs.find((name) => name.endsWith('.css'))
if (!script || !style) throw new Error(`unexpected build outputs: ${outputs.join(', ')}`)

const template = await readFile(join(here, 'index.html'), 'utf8')
const page = template
  .replace('%APP_JS%', `/assets/${script}`)
  .replace('%APP_CSS%', `/assets/${style}`)
await writeFile(join(outdir, 'index.html'), page)
console.log(`built ${outputs.length} assets into ${outdir}`)
