"""The annual report's figures as short mrkdwn lines, in the order of the issue's sections:
performances and productions, pupil attendances, schools, feedback (comments only for
coordinators), and the economy line. The Slack views build Block Kit from them (a line
starting with «*» is a section's heading); the command line prints them.

Every name from the tour plan or the directory and every comment is escaped for mrkdwn.
Long lists are cut short (the workbook has them whole): the schools with no visit, the
schools with the most performances, the newest comments.
"""

from __future__ import annotations

from datetime import date

from handlers.core.format import (
    decimal_text,
    escape,
    mention,
    month_name,
    percent_text,
    short_date,
    truncate,
)
from handlers.core.i18n import N_, _, ngettext
from storage.feedback import QUESTION_KEYS
from storage.models import ArtForm
from storage.report import (
    BAND_1_4,
    BAND_5_7,
    BAND_8_10,
    BAND_NONE,
    BAND_VG,
    UNKNOWN_SCHOOL,
    AnnualReport,
)

# --- Labels (the files and the charts use them too) -----------------------------------------

ART_FORM_LABELS: dict[str, str] = {
    ArtForm.MUSIC.value: N_("musikk"),
    ArtForm.PERFORMING_ARTS.value: N_("scenekunst"),
    ArtForm.VISUAL_ARTS.value: N_("visuell kunst"),
    ArtForm.FILM.value: N_("film"),
    ArtForm.LITERATURE.value: N_("litteratur"),
    ArtForm.CULTURAL_HERITAGE.value: N_("kulturarv"),
    ArtForm.INTERDISCIPLINARY.value: N_("tverrkunstnerisk"),
}
BAND_LABELS: dict[str, str] = {
    BAND_1_4: N_("1.–4. trinn"),
    BAND_5_7: N_("5.–7. trinn"),
    BAND_8_10: N_("8.–10. trinn"),
    BAND_VG: N_("videregående (VG1–VG3)"),
    BAND_NONE: N_("uten oppgitt trinn"),
}
# The questions as the feedback form asks them (storage.feedback.RATING_QUESTIONS).
QUESTION_TEXTS: dict[str, str] = {
    "overall": N_("Helhetsinntrykk"),
    "artistic": N_("Kunstnerisk kvalitet"),
    "relevance": N_("Relevans for elevene og læreplanen"),
    "pupils": N_("Elevenes respons"),
    "practical": N_("Praktisk gjennomføring"),
}
_UNKNOWN_SCHOOL = N_("ukjent skole")
assert _UNKNOWN_SCHOOL == UNKNOWN_SCHOOL


def art_form_label(art_form: str) -> str:
    """«musikk» in the language in force; an art form outside the list as stored."""
    label = ART_FORM_LABELS.get(art_form)
    return _(label) if label else art_form


def band_label(band: str) -> str:
    return _(BAND_LABELS[band])


def question_label(question: str | None) -> str:
    """A rating question's text; None is the free comment («Andre kommentarer»)."""
    return _(QUESTION_TEXTS[question]) if question else _("Andre kommentarer")


def school_label(name: str | None) -> str:
    """The school's name, or «ukjent skole» when its row is gone."""
    return name if name is not None else _(_UNKNOWN_SCHOOL)


def month_label(year: int, month: int) -> str:
    """«januar» in the language in force (Babel's stand-alone month name)."""
    return month_name(date(year, month, 1))


def economy_line() -> str:
    return _("Økonomi er ikke med her: den rapporteres i DKS-portalen.")


def attendance_source_line(report: AnnualReport) -> str:
    """Where the pupil numbers came from, said plainly."""
    t = report.totals
    return _(
        "Elevbesøk per gjennomført forestilling: elever til stede fra tilbakemeldingene for "
        "%(feedback)d (medianen når flere svar oppgir tallet), forventet antall fra "
        "turnéplanen for %(plan)d, uten noe tall (telt som 0) for %(unknown)d."
    ) % {
        "feedback": t.attendances_from_feedback,
        "plan": t.attendances_from_tourplan,
        "unknown": t.attendances_unknown,
    }


# --- Lines ------------------------------------------------------------------------------------

SCHOOLS_SHOWN = 10
WITHOUT_VISIT_SHOWN = 25
COMMENTS_SHOWN = 5
COMMENT_CHARS = 300


def _n(n: int) -> str:
    """«1 234»: thousands grouped as the language writes them."""
    return decimal_text(n, "#,##0")


def _filled(message: str, n: int) -> str:
    """An ngettext message with its count filled in: «1 forestilling», «12 forestillinger»."""
    return message % {"n": _n(n)}


def _average(value: float | None) -> str:
    return decimal_text(value) if value is not None else "–"


def _performances(report: AnnualReport) -> list[str]:
    t = report.totals
    lines = [
        _("*Forestillinger og produksjoner*"),
        _("%(held)s, %(cancelled)s, %(productions)s.")
        % {
            "held": _filled(
                ngettext(
                    "%(n)s gjennomført forestilling", "%(n)s gjennomførte forestillinger", t.held
                ),
                t.held,
            ),
            "cancelled": _filled(
                ngettext("%(n)s avlyst", "%(n)s avlyste", t.cancelled), t.cancelled
            ),
            "productions": _filled(
                ngettext("%(n)s produksjon", "%(n)s produksjoner", t.productions), t.productions
            ),
        },
    ]
    if t.planned:
        lines.append(
            _filled(
                ngettext(
                    "%(n)s forestilling er planlagt senere i året og ikke telt som gjennomført.",
                    "%(n)s forestillinger er planlagt senere i året og ikke telt som gjennomførte.",
                    t.planned,
                ),
                t.planned,
            )
        )
    for a in report.art_forms:
        parts = [
            _filled(ngettext("%(n)s forestilling", "%(n)s forestillinger", a.held), a.held),
            _filled(
                ngettext("%(n)s produksjon", "%(n)s produksjoner", a.productions), a.productions
            ),
        ]
        if a.cancelled:
            parts.append(
                _filled(ngettext("%(n)s avlyst", "%(n)s avlyste", a.cancelled), a.cancelled)
            )
        lines.append(f"• {escape(art_form_label(a.art_form))}: {', '.join(parts)}")
    return lines


def _attendances(report: AnnualReport) -> list[str]:
    t = report.totals
    lines = [
        _("*Elevbesøk*"),
        _filled(
            ngettext("%(n)s elevbesøk i alt.", "%(n)s elevbesøk i alt.", t.attendances),
            t.attendances,
        ),
    ]
    if t.attendances_from_feedback and t.attendances_from_tourplan:
        lines.append(
            _(
                "_Elever til stede fra tilbakemeldingene for %(feedback)s, ellers forventet "
                "antall fra turnéplanen (%(plan)s)._"
            )
            % {
                "feedback": _filled(
                    ngettext(
                        "%(n)s forestilling", "%(n)s forestillinger", t.attendances_from_feedback
                    ),
                    t.attendances_from_feedback,
                ),
                "plan": _filled(
                    ngettext(
                        "%(n)s forestilling", "%(n)s forestillinger", t.attendances_from_tourplan
                    ),
                    t.attendances_from_tourplan,
                ),
            }
        )
    elif t.attendances_from_feedback:
        lines.append(_("_Elever til stede, fra tilbakemeldingene._"))
    elif t.attendances_from_tourplan:
        lines.append(
            _("_Forventet antall elever fra turnéplanen: ingen tilbakemelding oppga antallet._")
        )
    if t.attendances_unknown:
        lines.append(
            _filled(
                ngettext(
                    "_%(n)s forestilling har ikke noe elevtall og telles med 0._",
                    "_%(n)s forestillinger har ikke noe elevtall og telles med 0._",
                    t.attendances_unknown,
                ),
                t.attendances_unknown,
            )
        )
    lines += [
        f"• {escape(art_form_label(a.art_form))}: {_n(a.attendances)}"
        for a in report.art_forms
        if a.held
    ]
    lines += [f"• {escape(band_label(b.band))}: {_n(b.attendances)}" for b in report.grade_bands]
    return lines


def _schools(report: AnnualReport) -> list[str]:
    t = report.totals
    without = report.schools_without_visit
    lines = [
        _("*Skoler*"),
        _("%(reached)s av %(schools)s i katalogen fikk DKS-besøk.")
        % {
            "reached": _n(t.schools_reached),
            "schools": _filled(
                ngettext("%(n)s skole", "%(n)s skoler", t.schools_in_directory),
                t.schools_in_directory,
            ),
        },
    ]
    if without:
        names = ", ".join(escape(s.name) for s in without[:WITHOUT_VISIT_SHOWN])
        more = len(without) - WITHOUT_VISIT_SHOWN
        if more > 0:
            names += " " + _filled(ngettext("og %(n)s til", "og %(n)s til", more), more)
        lines.append(
            # Not a heading (those start with «*»): what a coordinator must act on.
            _(":warning: *Skoler uten DKS-besøk i %(year)d (%(count)s):* %(names)s")
            % {"year": report.year, "count": _n(len(without)), "names": names}
        )
    elif t.schools_in_directory:
        lines.append(_("Alle skolene i katalogen fikk DKS-besøk."))
    busiest = sorted(
        (s for s in report.schools if s.held), key=lambda s: (-s.held, -s.attendances)
    )[:SCHOOLS_SHOWN]
    if busiest:
        lines.append(_("Flest forestillinger:"))
        lines += [
            "• "
            + _("%(school)s: %(performances)s, %(pupils)s")
            % {
                "school": escape(school_label(s.name)),
                "performances": _filled(
                    ngettext("%(n)s forestilling", "%(n)s forestillinger", s.held), s.held
                ),
                "pupils": _filled(
                    ngettext("%(n)s elevbesøk", "%(n)s elevbesøk", s.attendances), s.attendances
                ),
            }
            for s in busiest
        ]
        if len([s for s in report.schools if s.held]) > SCHOOLS_SHOWN:
            lines.append(_("_Alle skolene står i regnearket._"))
    return lines


def _feedback(report: AnnualReport, *, for_coordinator: bool) -> list[str]:
    fb = report.feedback
    lines = [_("*Tilbakemeldinger*")]
    if not fb.answers:
        lines.append(_("Ingen tilbakemeldinger på årets forestillinger."))
        return lines
    lines.append(
        _("Svarprosent %(rate)s: %(answered)s av %(held)s har svar (%(answers)s).")
        % {
            "rate": percent_text(fb.response_rate or 0.0),
            "answered": _n(fb.answered_performances),
            "held": _filled(
                ngettext(
                    "%(n)s gjennomført forestilling", "%(n)s gjennomførte forestillinger", fb.held
                ),
                fb.held,
            ),
            "answers": _filled(ngettext("%(n)s svar", "%(n)s svar", fb.answers), fb.answers),
        }
    )
    lines.append(
        _("Snitt (1–5): %(averages)s")
        % {
            "averages": " · ".join(
                f"{question_label(q)} {_average(fb.averages[q])}" for q in QUESTION_KEYS
            )
        }
    )
    for r in fb.per_art_form:
        if not r.answers:
            continue
        lines.append(
            "• "
            + _("%(art_form)s: helhetsinntrykk %(average)s, svarprosent %(rate)s (%(answers)s)")
            % {
                "art_form": escape(art_form_label(r.art_form)),
                "average": _average(r.averages["overall"]),
                "rate": percent_text(r.response_rate or 0.0),
                "answers": _filled(ngettext("%(n)s svar", "%(n)s svar", r.answers), r.answers),
            }
        )
    if fb.lowest_rated:
        lines.append(
            _("Lavest vurdert (helhetsinntrykk, minst %(min)d svar):") % {"min": fb.min_answers}
        )
        lines += [
            f"{n}. "
            + _("%(title)s (%(art_form)s): %(average)s av %(answers)s")
            % {
                "title": escape(truncate(p.title, 150)),
                "art_form": escape(art_form_label(p.art_form)),
                "average": _average(p.averages["overall"]),
                "answers": _filled(ngettext("%(n)s svar", "%(n)s svar", p.answers), p.answers),
            }
            for n, p in enumerate(fb.lowest_rated, start=1)
        ]
    if for_coordinator and fb.comments:
        lines.append(
            _("*Nyeste kommentarer* (%(shown)d av %(total)s; alle står i regnearket)")
            % {"shown": min(COMMENTS_SHOWN, len(fb.comments)), "total": _n(fb.comments_total)}
        )
        for c in fb.comments[:COMMENTS_SHOWN]:
            lines.append(
                "> "
                + escape(truncate(" ".join(c.text.split()), COMMENT_CHARS))
                + "\n"
                + _("— %(author)s om %(title)s, %(school)s %(date)s (%(question)s)")
                % {
                    "author": mention(c.author) if c.author else _("anonym"),
                    "title": escape(truncate(c.production, 100)),
                    "school": escape(school_label(c.school)),
                    "date": short_date(c.day),
                    "question": escape(question_label(c.question).lower()),
                }
            )
    return lines


def summary_lines(report: AnnualReport, *, for_coordinator: bool) -> list[str]:
    """mrkdwn lines (names escaped) in the language in force; a heading line starting with
    «*» begins each section. An empty report gives one line saying the year has no data.
    Comments only `for_coordinator`."""
    if report.is_empty:
        return [
            _(
                "Ingen forestillinger i %(year)d: turnéplanen har ingen forestillinger det året, "
                "så det er ingen tall å rapportere."
            )
            % {"year": report.year}
        ]
    return [
        _("*DKS-rapport for %(year)d*") % {"year": report.year},
        *_performances(report),
        *_attendances(report),
        *_schools(report),
        *_feedback(report, for_coordinator=for_coordinator),
        _("*Økonomi*"),
        economy_line(),
    ]
