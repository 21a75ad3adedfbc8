"""Serving many workspaces: the OAuth install flow, encrypted installations, token rotation.

- `flow`: Bolt's OAuth flow with our pages and the allow-list; `authorize` for requests.
- `tokens`: `SerialTokenRotator` (one refresh per workspace across processes) and
  `WorkspaceTokens`, the scheduler's token source.
- `pages`: the install, success and failure pages (Norwegian, accessible).
"""
