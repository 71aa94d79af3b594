// @y/websocket-server 0.1.1, in memory (no YPERSISTENCE): the stock y-websocket reference server.
// Usage: node servers/yws.mjs --port 1234 [--host 127.0.0.1]
import http from 'node:http'
import { parseArgs } from 'node:util'
import { WebSocketServer } from 'ws'

delete process.env.YPERSISTENCE // never persist: the reference runs in memory
const { setupWSConnection } = await import('@y/websocket-server/utils')

const { values } = parseArgs({
  options: { port: { type: 'string', default: '1234' }, host: { type: 'string', default: '127.0.0.1' } }
})

const wss = new WebSocketServer({ noServer: true })
wss.on('connection', setupWSConnection)

const server = http.createServer((req, res) => {
  if (req.url === '/__gc' && typeof globalThis.gc === 'function') {
    globalThis.gc() // benchmark hook (node --expose-gc): memory is read after a full collection
    res.writeHead(200, { 'Content-Type': 'text/plain' })
    res.end('collected')
    return
  }
  res.writeHead(200, { 'Content-Type': 'text/plain' })
  res.end('okay')
})
server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
})
server.listen(Number(values.port), values.host, () => {
  console.log(`yws listening on ${values.host}:${values.port}`)
})

const stop = () => {
  for (const ws of wss.clients) ws.terminate()
  server.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 2000).unref()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
