// Live alerts: a Server-Sent Events stream adds each new alert at the top of the list (an
// unacknowledged immediate escalation stays first), and, when the user has allowed it, a browser
// notification that names the kind of alert only, never the person.
const list = document.getElementById('alerts')
const status = document.getElementById('live-status')
const empty = document.getElementById('no-alerts')
const notifyWrapper = document.getElementById('notify-wrapper')
const notifyButton = document.getElementById('notify')

function setStatus (state, text) {
  status.dataset.state = state
  status.textContent = text
}

if ('Notification' in window && Notification.permission === 'default') {
  notifyWrapper.hidden = false
  notifyButton.addEventListener('click', async () => {
    await Notification.requestPermission()
    notifyWrapper.hidden = true
  })
}

function place (node) {
  const firstUnpinned = node.dataset.pinned === 'true'
    ? list.firstElementChild
    : Array.from(list.children).find((li) => li.dataset.pinned !== 'true')
  list.insertBefore(node, firstUnpinned || null)
}

if (list && window.EventSource) {
  // The browser sends Last-Event-ID itself when it reconnects; the first connection starts after
  // the newest alert the page already shows.
  const source = new EventSource(list.dataset.stream + '?after=' + encodeURIComponent(list.dataset.last))
  source.addEventListener('open', () => setStatus('live', 'Live: new alerts appear here as they arrive.'))
  source.addEventListener('error', () => setStatus('reconnecting', 'Reconnecting to live alerts…'))
  source.addEventListener('alert', (event) => {
    const alert = JSON.parse(event.data)
    list.dataset.last = event.lastEventId
    if (document.getElementById('alert-' + alert.id)) return // seen already (at least once)
    const holder = document.createElement('template')
    holder.innerHTML = alert.html.trim()
    const node = holder.content.firstElementChild
    node.classList.add('hub-alert--new')
    place(node)
    empty.hidden = true
    if ('Notification' in window && Notification.permission === 'granted') {
      // eslint-disable-next-line no-new
      new Notification('New ' + alert.kind.toLowerCase(), { body: 'Open the hub to see it.', tag: alert.id })
    }
  })
}
