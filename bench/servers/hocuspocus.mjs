// @hocuspocus/server 4.7.0, in memory (no persistence extension): the Hocuspocus reference server.
// Usage: node servers/hocuspocus.mjs --port 1235 [--host 127.0.0.1]
import { parseArgs } from 'node:util'
import { Server } from '@hocuspocus/server'

const { values } = parseArgs({
  options: { port: { type: 'string', default: '1235' }, host: { type: 'string', default: '127.0.0.1' } }
})

const server = new Server({
  port: Number(values.port),
  address: values.host,
  quiet: true,
  stopOnSignals: true,
  async onRequest ({ request, response }) {
    if (request.url === '/__gc' && typeof globalThis.gc === 'function') {
      globalThis.gc() // benchmark hook (node --expose-gc): memory is read after a full collection
      response.writeHead(200, { 'Content-Type': 'text/plain' })
      response.end('collected')
      throw null // eslint-disable-line no-throw-literal -- Hocuspocus: handled, skip the default
    }
  }
})
await server.listen()
console.log(`hocuspocus listening on ${values.host}:${values.port}`)
