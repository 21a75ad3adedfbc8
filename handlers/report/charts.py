"""The annual report's charts as PNG, in the language in force.

matplotlib's object API: a `Figure` drawn on a `FigureCanvasAgg`, never pyplot (pyplot keeps
every figure in a global registry until closed, and picks a GUI backend), imported inside
`render_charts` so a process that never makes a report never loads matplotlib. Each chart
is drawn at a fixed pixel size (WIDTH × HEIGHT at DPI), with the title and axis labels
through the catalogs and an alt text that says in words what the chart shows (Slack's
image block `alt_text`, read by screen readers).

A web worker draws them in a child process (`render_charts_apart`): matplotlib's import and
first drawing add about 35 MB to a process for good (its modules, fonts and caches), more
than the 30 MB a worker may grow by a report. The child comes from a fork server (Linux;
elsewhere it is spawned), imports matplotlib, draws, sends the PNGs back through a pipe and
exits, so the worker's memory stays as it was.
"""

from __future__ import annotations

import io
import multiprocessing
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from handlers.core.format import decimal_text
from handlers.core.i18n import _, current_language, use_language
from handlers.report.summary import art_form_label, band_label, month_label
from storage.report import AnnualReport

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Every chart is drawn at this fixed size: 1200 × 700 pixels (12 × 7 inches at 100 dpi).
WIDTH, HEIGHT, DPI = 1200, 700, 100
_BAR = "#2f6f9f"
_SECOND = "#c8553d"
_THIRD = "#9aa5b1"
_ALT_LIMIT = 1000  # Slack allows 2,000 characters; a screen reader user wants less


@dataclass(frozen=True)
class Chart:
    """One chart, ready to upload or embed."""

    name: str
    """A stable file stem: «forestillinger-per-kunstuttrykk» etc. (no extension)."""
    title: str
    """The chart's title in the language in force."""
    alt_text: str
    """What the chart shows, in words, for screen readers (Slack's image alt_text)."""
    png: bytes
    """The PNG file."""
    width: int
    """Pixels."""
    height: int
    """Pixels."""


def _integer(n: int) -> str:
    return decimal_text(n, "#,##0")


def _alt(intro: str, parts: Sequence[str]) -> str:
    text = f"{intro} {', '.join(parts)}."
    return text if len(text) <= _ALT_LIMIT else text[: _ALT_LIMIT - 1].rstrip() + "…"


def _figure(labels: Sequence[str] = ()) -> tuple[Figure, Any]:
    """A figure and its axes with fixed margins; `labels`: a horizontal chart's category
    names, which decide the left margin. (Fixed margins, not the constrained layout, which
    draws every chart twice: 0.2 s a chart instead of 0.5.)"""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    # About 10 px a character at 12 pt: the longest name fits left of the axes.
    left = min(0.45, 0.04 + max((len(x) for x in labels), default=6) * 10 / WIDTH)
    figure.subplots_adjust(left=left, right=0.95, top=0.88, bottom=0.12)
    axes = figure.add_subplot()
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(labelsize=12)
    return figure, axes


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    # No bbox_inches="tight": that would crop the figure to another size.
    # Flat colours compress well at zlib's fastest level, which takes a tenth of the time.
    figure.savefig(out, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    figure.clear()
    return out.getvalue()


def _chart(name: str, title: str, alt_text: str, figure: Figure, axes: Any) -> Chart:
    axes.set_title(title, fontsize=18, loc="left", pad=14)
    return Chart(
        name=name, title=title, alt_text=alt_text, png=_png(figure), width=WIDTH, height=HEIGHT
    )


def _whole_numbers() -> Any:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _integer_formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _pos: _integer(int(value)))


def _legend(figure: Figure) -> None:
    """Above the axes, right, clear of the bars."""
    figure.legend(
        frameon=False, fontsize=12, loc="upper right", ncols=3, bbox_to_anchor=(0.95, 0.97)
    )


def _label_bars(axes: Any, bars: Any, labels: Sequence[str]) -> None:
    axes.bar_label(bars, labels=labels, padding=4, fontsize=12)


def _performances_per_art_form(report: AnnualReport) -> Chart:
    arts = [a for a in report.art_forms if a.held or a.cancelled][::-1]
    names = [art_form_label(a.art_form) for a in arts]
    figure, axes = _figure(names)
    axes.barh(names, [a.held for a in arts], color=_BAR, label=_("gjennomført"))
    cancelled = axes.barh(
        names,
        [a.cancelled for a in arts],
        left=[a.held for a in arts],
        color=_SECOND,
        label=_("avlyst"),
    )
    # One label at the end of each bar: «12», or «12 + 1 avlyst».
    _label_bars(
        axes,
        cancelled,
        [
            _("%(held)s + %(cancelled)s avlyst")
            % {"held": _integer(a.held), "cancelled": _integer(a.cancelled)}
            if a.cancelled
            else _integer(a.held)
            for a in arts
        ],
    )
    if any(a.cancelled for a in arts):
        _legend(figure)
    axes.xaxis.set_major_locator(_whole_numbers())
    axes.set_xlabel(_("Forestillinger"), fontsize=13)
    axes.set_xlim(0, max((a.held + a.cancelled for a in arts), default=1) * 1.2 + 0.5)
    title = _("Forestillinger per kunstuttrykk, %(year)d") % {"year": report.year}
    alt = _alt(
        _("Liggende stolpediagram over forestillinger per kunstuttrykk i %(year)d:")
        % {"year": report.year},
        [
            _("%(art_form)s %(held)s gjennomført, %(cancelled)s avlyst")
            % {
                "art_form": art_form_label(a.art_form),
                "held": _integer(a.held),
                "cancelled": _integer(a.cancelled),
            }
            for a in arts[::-1]
        ],
    )
    return _chart("forestillinger-per-kunstuttrykk", title, alt, figure, axes)


def _attendances_per_band(report: AnnualReport) -> Chart:
    figure, axes = _figure()
    bands = list(report.grade_bands)
    names = [band_label(b.band) for b in bands]
    bars = axes.bar(names, [b.attendances for b in bands], color=_BAR)
    _label_bars(axes, bars, [_integer(b.attendances) for b in bands])
    axes.yaxis.set_major_locator(_whole_numbers())
    axes.yaxis.set_major_formatter(_integer_formatter())
    axes.set_ylabel(_("Elevbesøk"), fontsize=13)
    axes.margins(y=0.12)
    title = _("Elevbesøk per trinn, %(year)d") % {"year": report.year}
    alt = _alt(
        _("Stolpediagram over elevbesøk per trinn i %(year)d:") % {"year": report.year},
        [f"{band_label(b.band)} {_integer(b.attendances)}" for b in bands],
    )
    return _chart("elevbesok-per-trinn", title, alt, figure, axes)


def _ratings_per_art_form(report: AnnualReport) -> Chart:
    rated = [r for r in report.feedback.per_art_form if r.answers][::-1]
    names = [art_form_label(r.art_form) for r in rated]
    figure, axes = _figure(names)
    values = [r.averages["overall"] or 0.0 for r in rated]
    bars = axes.barh(names, values, color=_BAR)
    _label_bars(
        axes,
        bars,
        [
            _("%(average)s (%(answers)s svar)")
            % {"average": decimal_text(v), "answers": _integer(r.answers)}
            for v, r in zip(values, rated, strict=True)
        ],
    )
    axes.set_xlim(0, 5.9)
    axes.set_xticks([1, 2, 3, 4, 5])
    axes.set_xlabel(_("Helhetsinntrykk, snitt (1 = ikke bra, 5 = svært bra)"), fontsize=13)
    title = _("Helhetsinntrykk per kunstuttrykk, %(year)d") % {"year": report.year}
    alt = _alt(
        _(
            "Liggende stolpediagram over snittet for helhetsinntrykk (1–5) per kunstuttrykk "
            "i %(year)d:"
        )
        % {"year": report.year},
        [
            _("%(art_form)s %(average)s av %(answers)s svar")
            % {
                "art_form": art_form_label(r.art_form),
                "average": decimal_text(v),
                "answers": _integer(r.answers),
            }
            for v, r in zip(values[::-1], rated[::-1], strict=True)
        ],
    )
    return _chart("vurdering-per-kunstuttrykk", title, alt, figure, axes)


def _timeline(report: AnnualReport) -> Chart:
    figure, axes = _figure()
    months = list(report.timeline)
    names = [month_label(report.year, m.month)[:3] for m in months]
    held = [m.held for m in months]
    cancelled = [m.cancelled for m in months]
    planned = [m.planned for m in months]
    axes.bar(names, held, color=_BAR, label=_("gjennomført"))
    bottom = held
    if any(cancelled):
        axes.bar(names, cancelled, bottom=bottom, color=_SECOND, label=_("avlyst"))
        bottom = [a + b for a, b in zip(bottom, cancelled, strict=True)]
    if any(planned):
        axes.bar(names, planned, bottom=bottom, color=_THIRD, label=_("planlagt"))
    if any(cancelled) or any(planned):
        _legend(figure)
    axes.yaxis.set_major_locator(_whole_numbers())
    axes.margins(y=0.08)
    axes.set_ylabel(_("Forestillinger"), fontsize=13)
    title = _("Forestillinger måned for måned, %(year)d") % {"year": report.year}
    alt = _alt(
        _("Stolpediagram over gjennomførte forestillinger per måned i %(year)d:")
        % {"year": report.year},
        [f"{month_label(report.year, m.month)} {_integer(m.held)}" for m in months],
    )
    return _chart("forestillinger-per-maned", title, alt, figure, axes)


def render_charts(report: AnnualReport) -> list[Chart]:
    """Performances per art form, attendances per grade band, ratings per art form (when
    there are answers), and a month-by-month timeline; an empty report gets no charts."""
    if report.is_empty:
        return []
    charts = [_performances_per_art_form(report), _attendances_per_band(report)]
    if report.feedback.answers:
        charts.append(_ratings_per_art_form(report))
    charts.append(_timeline(report))
    return charts


# --- In a child process ------------------------------------------------------------------------

CHILD_TIMEOUT = 120.0


class ChartsFailed(RuntimeError):
    """The child process drawing the charts failed or took too long."""


# What the fork server imports once, so each child starts with matplotlib loaded; the server
# is a process of its own, so this memory is not the worker's.
_PRELOAD = ["handlers.report.charts", "matplotlib.figure", "matplotlib.backends.backend_agg"]


def _context() -> Any:
    """A fork server where there is one (Linux), else spawn. Not a plain fork: a web worker
    runs threads (gunicorn's gthread, Bolt's listener executor), and a fork copies whatever
    lock one of them holds at that moment into a child that can never release it. The fork
    server is a single-threaded process started on first use."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


def _draw(conn: Connection, language: str, report: AnnualReport) -> None:
    """The child: draw, send the charts' fields (plain tuples) back, exit."""
    # A forked child keeps the worker's signal handlers (gunicorn's): its own are the defaults.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        with use_language(language):
            drawn = render_charts(report)
        conn.send(("ok", [(c.name, c.title, c.alt_text, c.png, c.width, c.height) for c in drawn]))
    except BaseException as err:
        conn.send(("error", f"{type(err).__name__}: {err}"[:500]))
    finally:
        conn.close()


def render_charts_apart(report: AnnualReport, *, timeout: float = CHILD_TIMEOUT) -> list[Chart]:
    """`render_charts(report)` in a child process, in the language in force: for web workers,
    whose memory must not keep matplotlib. The child touches nothing of the parent's (no
    database, no Slack client): it draws and exits. Raises ChartsFailed."""
    if report.is_empty:
        return []
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_draw, args=(sender, current_language(), report), name="dks-report-charts"
    )
    child.daemon = True
    child.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            raise ChartsFailed(f"the chart process took more than {timeout:.0f} s")
        status, payload = receiver.recv()
    except (EOFError, OSError) as err:
        raise ChartsFailed(f"the chart process ended without charts: {err}") from err
    finally:
        receiver.close()
        child.join(5)
        if child.is_alive():
            child.kill()
            child.join()
    if status != "ok":
        raise ChartsFailed(f"the chart process failed: {payload}")
    return [Chart(*fields) for fields in payload]
