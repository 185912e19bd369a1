"""The People Poll pages: the public monthly form and the results page.

The form's route is public and protects itself:

* the link is signed and expires a few days after its month (``exp``, ``sig``);
* the POST must echo a token that only a page of this site set in a
  ``SameSite=Strict`` cookie, so another site cannot make its visitors'
  browsers answer;
* a browser that has answered carries a cookie and is told so;
* each network address may try a few times an hour and a month, counted
  under a salted hash that is deleted with the month.
"""

from __future__ import annotations

import math
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.auth import role_at_least
from hub.http.charts import Series, bar_chart, trend_chart
from hub.http.routes import Route, current_user, json_error
from hub.http.server import HUB_KEY
from hub.http.templating import render, request_lang
from plugins.people_poll.const import COOKIE_PATH, DOMAIN, DONE_COOKIE_PREFIX, FORM_COOKIE, RUNTIME
from plugins.people_poll.manager import PollManager, PollRefused, valid_month
from plugins.people_poll.strings import date_label, month_label, translator

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("routes",)

_COLORS = ("#b91c1c", "#1d4ed8", "#166534", "#92400e", "#6d28d9", "#0e7490")


def _t(request: web.Request) -> Any:
    return translator(request_lang(request))


def _form_page(request: web.Request, status: int = 200, **ctx: Any) -> web.Response:
    mgr = request.app[HUB_KEY].data.get(RUNTIME)
    return render(
        request,
        "people_poll/form.html",
        status=status,
        t=_t(request),
        config=mgr.config if mgr else None,
        **ctx,
    )


def _invalid_message(request: web.Request, err: PollRefused) -> str:
    mgr = request.app[HUB_KEY].data.get(RUNTIME)
    lang = request_lang(request)
    question = next((q for q in (mgr.config.questions if mgr else []) if q.id == err.question), None)
    label = (question.text_th if lang == "th" else question.text_en) if question else (err.question or "")
    return str(_t(request)("refused.invalid", q=label))


def _refused(request: web.Request, err: PollRefused, month: str | None = None) -> web.Response:
    t = _t(request)
    message = _invalid_message(request, err) if err.reason == "invalid" else t(f"refused.{err.reason}")
    if err.reason == "throttled" and err.retry_after is not None:
        message = t("refused.throttled_until", when=_when(request, err.retry_after))
    response = _form_page(
        request, err.status, state="refused", reason=err.reason, message=message, month=month
    )
    if err.retry_after is not None:
        response.headers["Retry-After"] = str(max(1, math.ceil(err.retry_after)))
    return response


def _when(request: web.Request, seconds: float) -> str:
    """Return when a throttled resident may come back: a time today, else a date."""
    hub = request.app[HUB_KEY]
    then = datetime.fromtimestamp(hub.clock.time() + seconds, hub.clock.tz)
    if then.date() == hub.clock.now().date():
        return then.strftime("%H:%M")
    return date_label(then.date(), request_lang(request))


def _check_link(request: web.Request) -> tuple[PollManager, str]:
    hub = request.app[HUB_KEY]
    mgr = hub.data.get(RUNTIME)
    if mgr is None:
        raise PollRefused("not_configured", 404)
    month = request.match_info["month"]
    if not valid_month(month) or not hub.signer.verify(
        f"/{DOMAIN}/m/{month}", request.query.get("exp"), request.query.get("sig")
    ):
        raise PollRefused("link", 403)
    problem = mgr.window_problem(month)
    if problem is not None:
        raise PollRefused(problem, 410 if problem == "closed" else 403)
    return mgr, month


async def poll_form(request: web.Request) -> web.StreamResponse:
    """Show the month's questions."""
    try:
        mgr, month = _check_link(request)
        if not request.cookies.get(DONE_COOKIE_PREFIX + month):
            # Told now, not after answering every question: opening the page is not an
            # attempt (nothing is counted), but a send from here would be refused.
            await mgr.check_throttle(month, request.remote or "unknown")
    except PollRefused as err:
        return _refused(request, err)
    if request.cookies.get(DONE_COOKIE_PREFIX + month):
        return _form_page(
            request, state="refused", reason="already", message=_t(request)("refused.already"), month=month
        )
    token = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)
    response = _form_page(
        request,
        state="form",
        month=month,
        form_token=token,
        action=request.path_qs,
        month_name=month_label(month, request_lang(request)),
        values={},
    )
    response.set_cookie(
        FORM_COOKIE, token, path=COOKIE_PATH, httponly=True, samesite="Strict", secure=request.secure
    )
    return response


async def poll_submit(request: web.Request) -> web.StreamResponse:
    """Store one anonymous response."""
    month: str | None = None
    form: Any = None
    try:
        mgr, month = _check_link(request)
        form = await request.post()
        sent = form.get("form_token")
        cookie = request.cookies.get(FORM_COOKIE, "")
        if (
            not isinstance(sent, str)
            or not cookie
            or not secrets.compare_digest(sent.encode(), cookie.encode())
        ):
            raise PollRefused("form", 403)
        answered = bool(request.cookies.get(DONE_COOKIE_PREFIX + month))
        await mgr.submit(month, request.remote or "unknown", form, answered=answered)
    except PollRefused as err:
        if err.reason == "invalid" and month is not None and form is not None:
            # Show the form again with what was filled in, and what is missing.
            return _form_page(
                request,
                400,
                state="form",
                month=month,
                form_token=request.cookies.get(FORM_COOKIE),
                action=request.path_qs,
                month_name=month_label(month, request_lang(request)),
                values={k: v for k, v in form.items() if isinstance(v, str)},
                error=_invalid_message(request, err),
                error_question=err.question,
            )
        return _refused(request, err, month)
    response = _form_page(request, state="done", month=month)
    response.set_cookie(
        DONE_COOKIE_PREFIX + month,
        "1",
        path=COOKIE_PATH,
        httponly=True,
        samesite="Lax",
        secure=request.secure,
        max_age=int(max(60, mgr.closes_at(month) - mgr.hub.clock.time())),
    )
    return response


# -- results ---------------------------------------------------------------------------


def _month_param(request: web.Request, mgr: PollManager) -> str:
    month = request.query.get("month") or mgr.current_month()
    if not valid_month(month):
        raise web.HTTPBadRequest(text="month must be YYYY-MM")
    return month


async def results_page(request: web.Request) -> web.StreamResponse:
    """Charts of a month, the trend, comments (operators) and the share box (admins)."""
    hub = request.app[HUB_KEY]
    mgr = hub.data.get(RUNTIME)
    if mgr is None:
        raise web.HTTPNotFound(text="people_poll is not set up on this hub")
    lang = request_lang(request)
    t = translator(lang)
    month = _month_param(request, mgr)
    n, results = await mgr.results(month)
    cards = []
    for i, res in enumerate(results.values()):
        q = res.question
        text = q.text_th if lang == "th" else q.text_en
        chart = None
        if q.type == "scale":
            low, high = (q.low_th, q.high_th) if lang == "th" else (q.low_en, q.high_en)
            ends = {"1": f"1 {low}".strip(), "5": f"5 {high}".strip()}
            chart = bar_chart(
                [(ends.get(k, k), v) for k, v in res.counts.items()],
                title=text,
                shares=True,
                color=_COLORS[i % len(_COLORS)],
                width=420,
                row=30,
                label_width=140,
            )
        elif q.type == "yes_no":
            chart = bar_chart(
                [(t("poll.yes"), res.counts["yes"]), (t("poll.no"), res.counts["no"])],
                title=text,
                shares=True,
                color=_COLORS[i % len(_COLORS)],
                width=420,
                row=30,
                label_width=140,
            )
        elif q.type == "choice":
            chart = bar_chart(
                [(o.text_th if lang == "th" else o.text_en, res.counts[o.id]) for o in q.options],
                title=text,
                shares=True,
                color=_COLORS[i % len(_COLORS)],
                width=420,
                row=30,
                label_width=140,
            )
        cards.append({"q": q, "text": text, "res": res, "chart": chart})
    trend = await mgr.trend(month)
    labels = [month_label(p.month, lang, short=True) for p in trend]
    scale_series, yes_series = [], []
    for i, q in enumerate(mgr.config.questions):
        name = q.text_th if lang == "th" else q.text_en
        name = name if len(name) <= 60 else name[:57] + "…"
        if q.lower_is_better:
            name += f" ({t('poll.lower_better')})"
        values = [p.values.get(q.id) for p in trend]
        if q.type == "scale":
            scale_series.append(Series(name, values, _COLORS[i % len(_COLORS)]))
        elif q.type == "yes_no":
            yes_series.append(Series(name, values, _COLORS[i % len(_COLORS)]))
    trends = []
    if scale_series:
        trends.append(
            (
                t("poll.trend_scale"),
                scale_series,
                trend_chart(labels, scale_series, title=t("poll.trend_scale"), y_min=1, y_max=5),
            )
        )
    if yes_series:
        trends.append(
            (
                t("poll.trend_yes"),
                yes_series,
                trend_chart(labels, yes_series, title=t("poll.trend_yes"), y_min=0, y_max=100, unit="%"),
            )
        )
    user = current_user(request)
    share = None
    if role_at_least(user.role, "admin") and mgr.window_problem(mgr.current_month()) is None:
        import segno

        path = mgr.link()
        base = hub.core.web.public_url
        url = base.rstrip("/") + path if base else f"{request.scheme}://{request.host}{path}"
        until = datetime.fromtimestamp(mgr.closes_at(mgr.current_month()) - 1, hub.clock.tz)
        share = {
            "url": url,
            "qr": segno.make(url, error="m").svg_data_uri(scale=6, border=4),
            # The link's own last day, with its own month: January's link runs into February.
            "until": date_label(until.date(), lang),
            "line": t("poll.line_message", url=url),
        }
    months = [p.month for p in reversed(trend)]
    return render(
        request,
        "people_poll/results.html",
        t=t,
        month=month,
        month_name=month_label(month, lang),
        n=n,
        cards=cards,
        trends=trends,
        months=[(m, month_label(m, lang)) for m in months],
        show_comments=role_at_least(user.role, "operator"),
        share=share,
        title=mgr.config.title_th if lang == "th" else mgr.config.title_en,
    )


async def api_results(request: web.Request) -> web.StreamResponse:
    """A month's aggregates as JSON (no comments: those never leave the page)."""
    mgr = request.app[HUB_KEY].data.get(RUNTIME)
    if mgr is None:
        return json_error(404, "people_poll is not set up on this hub")
    month = _month_param(request, mgr)
    data = await mgr.public_results(month)
    data["trend"] = [{"month": p.month, "responses": p.n, "values": p.values} for p in await mgr.trend(month)]
    return web.json_response(data)


def routes(hub: Hub) -> list[Route]:
    """Return the poll's routes."""
    del hub
    return [
        Route(
            "GET",
            "/people_poll/m/{month}",
            poll_form,
            public=True,
            api=False,
            tags=(DOMAIN,),
            summary="The month's public poll form: needs the signed, expiring link (exp, sig)",
        ),
        Route(
            "POST",
            "/people_poll/m/{month}",
            poll_submit,
            public=True,
            csrf=False,
            api=False,
            tags=(DOMAIN,),
            summary="Answer the poll: signed link, SameSite=Strict double-submit token, one answer per "
            "browser per month (cookie), attempts limited per salted address hash",
        ),
        Route(
            "GET",
            "/people_poll",
            results_page,
            api=False,
            tags=(DOMAIN,),
            summary="Results, charts and the month-over-month trend",
        ),
        Route(
            "GET",
            "/api/people_poll/results",
            api_results,
            tags=(DOMAIN,),
            summary="A month's aggregates and trend (?month=YYYY-MM)",
        ),
    ]
