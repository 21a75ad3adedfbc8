"""The local stand-in for Slack, used by `dks-bot shell` and by the tests.

- `fakeslack`: an in-process fake of Slack's Web API, served over real HTTP on localhost.
- `signing`: request bodies and signatures exactly as Slack sends them.
- `render`: Slack messages rendered readably in a terminal.
- `shell`: the local chat shell that ties these to the real Bolt app.
"""
