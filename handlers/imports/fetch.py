"""Downloading a file a user uploaded in Slack, with the bot token, from Slack only.

The bot token goes in the Authorization header, so the download URL and every redirect must
be Slack's own file host (or the API host: the fake Slack in tests and the shell). urllib
keeps the header on redirects; `_SameHostRedirects` refuses any other target.
"""

from __future__ import annotations

import logging
import re
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.core.i18n import N_, _
from storage.importers.contacts import MAX_BYTES

log = logging.getLogger(__name__)

# What the user is told (marked here, translated when raised).
NOT_FOUND = N_("Jeg fant ikke filen. Last den opp på nytt.")
NOT_FETCHED = N_("Jeg fikk ikke tak i filen fra Slack. Prøv igjen.")
NOT_DOWNLOADED = N_("Jeg fikk ikke lastet ned filen fra Slack. Prøv igjen.")
TOO_LARGE = N_("Filen er større enn 10 MB.")


class FileFetchError(Exception):
    """The uploaded file could not be fetched; the message (one of the above) is for the
    user, in the reader's language."""

    def __init__(self, message: str) -> None:
        super().__init__(_(message))


def trusted(url: str, api_url: str) -> bool:
    """Only send the bot token to Slack's own file host (or the API host, e.g. a fake)."""
    target, api = urlsplit(url), urlsplit(api_url)
    if target.scheme not in ("https", "http") or not target.hostname or not api.hostname:
        return False
    if (target.hostname, target.port, target.scheme) == (api.hostname, api.port, api.scheme):
        return True
    base = api.hostname.removeprefix("api.")
    return target.scheme == "https" and (
        target.hostname == base or target.hostname.endswith("." + base)
    )


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, api_url: str) -> None:
        self.api_url = api_url

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        if not trusted(newurl, self.api_url):
            raise urllib.error.HTTPError(newurl, code, "untrusted redirect", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch_file(client: WebClient, file_id: str) -> tuple[str, bytes]:
    """(name, bytes) of a file a user uploaded, through files.info and its private URL."""
    if not re.fullmatch(r"F[A-Z0-9]{2,}", file_id or ""):
        raise FileFetchError(NOT_FOUND)
    try:
        info = client.files_info(file=file_id)["file"]
    except SlackApiError as err:
        log.warning("files.info failed: %s", err.response.get("error"))
        raise FileFetchError(NOT_FETCHED) from err
    url = str(info.get("url_private_download") or info.get("url_private") or "")
    if not trusted(url, client.base_url):
        log.warning("refusing to download a file from %s", urlsplit(url).hostname)
        raise FileFetchError(NOT_FETCHED)
    if int(info.get("size") or 0) > MAX_BYTES:
        raise FileFetchError(TOO_LARGE)
    opener = urllib.request.build_opener(_SameHostRedirects(client.base_url))
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {client.token}"})
    try:
        with opener.open(request, timeout=10) as response:
            data = response.read(MAX_BYTES + 1)
    except (urllib.error.URLError, OSError) as err:
        log.warning("downloading %s failed: %s", file_id, err)
        raise FileFetchError(NOT_DOWNLOADED) from err
    if len(data) > MAX_BYTES:
        raise FileFetchError(TOO_LARGE)
    return str(info.get("name") or _("fil")), data
