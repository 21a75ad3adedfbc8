"""The install pages a browser sees: «Legg til i Slack», done, or what went wrong.

Norwegian (bokmål), `lang="nb"`, and built to the WCAG 2.1 AA level the uu-forskriften asks
of public bodies: one h1, real link text, the language set, text that reflows on a phone,
contrast above 4.5:1 and a visible focus ring. Everything from outside (a workspace's name)
is HTML-escaped.
"""

from __future__ import annotations

from html import escape

INSTALL_PATH = "/slack/install"

# Bolt's failure reasons, and one of ours (a workspace outside SLACK_ALLOWED_TEAMS).
NOT_ALLOWED = "team_not_allowed"
_FAILURES: dict[str, tuple[str, str]] = {
    "access_denied": (
        "Installasjonen ble avbrutt",
        "Du valgte å ikke gi DKS-boten tilgang, så ingenting er endret. Du kan prøve igjen "
        "når du vil.",
    ),
    "invalid_browser": (
        "Vi kjente ikke igjen nettleseren din",
        "Installasjonen må fullføres i samme nettleser som du startet den i, og nettleseren "
        "må godta informasjonskapsler fra denne siden. Start på nytt i samme nettleser.",
    ),
    "invalid_state": (
        "Lenken er utløpt",
        "Lenken du kom fra er for gammel eller allerede brukt. Start installasjonen på nytt.",
    ),
    "missing_code": (
        "Slack sendte ikke med det vi trengte",
        "Svaret fra Slack manglet installasjonskoden. Start installasjonen på nytt.",
    ),
    "invalid_code": (
        "Slack godtok ikke installasjonen",
        "Installasjonskoden var ugyldig eller utløpt. Start installasjonen på nytt.",
    ),
    "storage_error": (
        "Vi fikk ikke lagret installasjonen",
        "Noe gikk galt hos oss. Prøv igjen om litt. Skjer det igjen, si fra til den som "
        "drifter DKS-boten.",
    ),
    NOT_ALLOWED: (
        "Dette arbeidsområdet kan ikke bruke denne DKS-boten",
        "Denne installasjonen er satt opp for bestemte kommuner, og arbeidsområdet ditt er "
        "ikke blant dem. Ingenting er lagret. Ta kontakt med DKS-kontoret i fylket ditt hvis "
        "dere skal være med.",
    ),
}
_OTHER_FAILURE = (
    "Installasjonen ble ikke fullført",
    "Slack meldte en feil. Start installasjonen på nytt.",
)

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5;
color:#1d1c1d;background:#fff;margin:0;padding:2rem 1rem}
main{max-width:36rem;margin:0 auto}
h1{font-size:1.6rem;line-height:1.25}
a.button{display:inline-block;background:#4a154b;color:#fff;padding:.75rem 1.25rem;
border-radius:.375rem;text-decoration:none;font-weight:600}
a:focus-visible{outline:3px solid #1264a3;outline-offset:3px}
a{color:#1264a3}
"""


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="nb">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)} – DKS-boten</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n<h1>{escape(title)}</h1>\n{body}\n</main>\n</body>\n</html>\n"
    )


def install_page(authorize_url: str) -> str:
    return _page(
        "Legg til DKS-boten i Slack",
        "<p>DKS-boten hjelper kommunekontakten og kulturkontaktene med fristene, møtene og "
        "tilbakemeldingene i Den kulturelle skolesekken.</p>\n"
        "<p>Du må være administrator i arbeidsområdet, eller ha lov til å legge til apper. "
        "Slack viser hva boten får tilgang til før du godtar.</p>\n"
        f'<p><a class="button" href="{escape(authorize_url)}">Legg til i Slack</a></p>',
    )


def success_page(team_name: str | None, team_id: str | None) -> str:
    where = f"«{escape(team_name)}»" if team_name else "arbeidsområdet ditt"
    open_link = (
        f'<p><a href="slack://open?team={escape(team_id)}">Åpne Slack</a></p>' if team_id else ""
    )
    return _page(
        "DKS-boten er lagt til",
        f"<p>DKS-boten er nå med i {where}. Skriv <code>/dks hjelp</code> i en kanal for å "
        "komme i gang, og velg en kanal for påminnelser med "
        "<code>/dks påminnelser kanal #kanal</code>.</p>\n" + open_link,
    )


def failure_page(reason: str) -> str:
    title, text = _FAILURES.get(reason, _OTHER_FAILURE)
    again = (
        ""
        if reason == NOT_ALLOWED
        else f'<p><a href="{INSTALL_PATH}">Start installasjonen på nytt</a></p>'
    )
    return _page(title, f"<p>{escape(text)}</p>\n{again}")
