// Starts `authflow lsp` over stdio for authflow workspaces. Plain JavaScript: no build step;
// `npm install` in this folder fetches vscode-languageclient.
const vscode = require('vscode')
const { LanguageClient } = require('vscode-languageclient/node')

let client

function activate(context) {
  const config = vscode.workspace.getConfiguration('authflow')
  const command = config.get('path') || 'authflow'
  const server = { command, args: ['lsp'] }
  client = new LanguageClient(
    'authflow',
    'authflow',
    { run: server, debug: server },
    {
      documentSelector: [
        { scheme: 'file', language: 'authflow' },
        { scheme: 'file', language: 'yaml' },
        { scheme: 'file', language: 'javascript' },
      ],
      initializationOptions: { debounceMs: config.get('debounceMs') },
    },
  )
  context.subscriptions.push(client)
  return client.start()
}

function deactivate() {
  return client ? client.stop() : undefined
}

module.exports = { activate, deactivate }
