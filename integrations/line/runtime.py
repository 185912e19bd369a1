"""The running LINE integration: one object holding the client, the tables and the workers."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from hub.core.bus import Event
from integrations.line.client import LineApi, LineApiError
from integrations.line.const import ALIAS_RE, BOT_ENTITY
from integrations.line.escalation import Escalator
from integrations.line.handlers import EventHandlers
from integrations.line.quota import QuotaWatch
from integrations.line.sender import Sender
from integrations.line.store import GroupRow, LineStore
from integrations.line.webhook import WebhookIntake

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.line.config import LineConfig

__all__ = "LineRuntime"

_LOGGER = logging.getLogger(__name__)


class LineRuntime:
    """Everything the LINE integration runs, built in ``setup`` and closed in ``shutdown``."""

    def __init__(self, hub: Hub, config: LineConfig) -> None:
        self.hub = hub
        self.config = config
        self.api = LineApi(config, hub.clock)
        self.store = LineStore(hub)
        self.sender = Sender(self)
        self.quota = QuotaWatch(self)
        self.escalation = Escalator(self)
        self.handlers = EventHandlers(self)
        self.webhook = WebhookIntake(self)
        self.bot: dict[str, Any] | None = None
        self.connection_error: str | None = None
        self._groups: dict[str, GroupRow] = {}
        self._unsubs: list[Any] = []

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the client, check the token, load state, start the workers."""
        from hub.core.errors import PluginSetupError

        await self.api.start()
        await self.webhook.start()
        try:
            self.bot = await self.api.bot_info(min(self.config.request_timeout, 5.0))
        except LineApiError as err:
            if err.status in (401, 403):
                await self.api.close()
                raise PluginSetupError(
                    f"LINE refused the channel access token (HTTP {err.status}: {err}). Check "
                    "line.channel_access_token (a long-lived token from the LINE Developers console, Messaging API "
                    "tab); the hub runs without LINE until it is fixed"
                ) from err
            # LINE unreachable right now: keep going, sends retry on their own.
            self.connection_error = str(err)
            _LOGGER.warning(
                "LINE: cannot reach %s to check the token (%s); will keep trying when sending",
                self.config.api_base,
                err,
            )
        else:
            _LOGGER.info("LINE: connected as %s (%s)", self.bot["display_name"], self.bot["basic_id"])
        await self.load_groups()
        await self.escalation.load()
        self._unsubs.append(self.escalation.listen())
        self._unsubs.append(self.hub.bus.listen("incident_updated", self._on_incident_updated))
        self.publish_state()
        unknown = [
            a for rule in self.config.escalation.values() for a in rule.chain if a not in await self.aliases()
        ]
        if unknown:
            _LOGGER.warning(
                "LINE: escalation names unknown aliases %s: give them in line.groups or on the "
                "LINE page, or escalation will skip them",
                ", ".join(sorted(set(unknown))),
            )
        # Names and member counts of the configured groups, for the LINE page.
        for group_id in self.config.groups.values():
            if self.bot is not None and group_id not in self._groups:
                self.hub.create_task(self.refresh_group(group_id), "line group summary")
        self.hub.create_background_task(self.quota.loop(), "line quota")
        self.hub.create_background_task(self.webhook.prune_loop(), "line webhook prune")
        await self.sender.resume_pending()

    async def stop(self) -> None:
        """Stop timers and listeners, close the client."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        self.escalation.cancel_all()
        self.quota.cancel()
        await self.api.close()

    def publish_state(self) -> None:
        """Show the integration's health as ``line.bot`` (quota level in the state)."""
        quota = self.quota.as_dict()
        state = {"ok": "ok", "warning": "quota_warning", "exhausted": "quota_exhausted"}[self.quota.level]
        if self.bot is None and self.connection_error and state == "ok":
            state = "unreachable"
        self.hub.states.set(
            BOT_ENTITY,
            state,
            {
                "friendly_name": f"LINE {self.bot['display_name']}" if self.bot else "LINE",
                "basic_id": self.bot["basic_id"] if self.bot else None,
                "quota_limit": quota["limit"],
                "quota_used": quota["used"],
                "quota_percent": quota["percent"],
                "groups": sorted(self._configured_aliases()),
            },
        )

    # -- groups -----------------------------------------------------------------------------

    def _configured_aliases(self) -> dict[str, str]:
        return dict(self.config.groups)

    async def load_groups(self) -> None:
        """Read the groups table into memory (sends resolve aliases without a query)."""
        self._groups = {g.group_id: g for g in await self.store.groups()}

    async def aliases(self) -> dict[str, str]:
        """Return alias → LINE id: the config's aliases, then those given on the LINE page."""
        out = {g.alias: g.group_id for g in self._groups.values() if g.alias and g.status != "left"}
        out.update(self.config.groups)
        return out

    async def left_groups(self) -> set[str]:
        """Return ids of groups the bot was removed from."""
        return {g.group_id for g in self._groups.values() if g.status == "left"}

    async def alias_of(self, chat_id: str) -> str | None:
        """Return the alias of a group id, if it has one."""
        for alias, group_id in (await self.aliases()).items():
            if group_id == chat_id:
                return alias
        return None

    def group_row(self, group_id: str) -> GroupRow | None:
        """Return what is known about a group, with its configured alias applied."""
        row = self._groups.get(group_id)
        configured = {v: k for k, v in self.config.groups.items()}.get(group_id)
        if row is None and configured is None:
            return None
        if row is None:
            row = GroupRow(group_id, configured, "active", "", None, None, 0.0)
        if configured:
            row.alias, row.configured = configured, True
            if row.status == "pending":
                row.status = "active"
        return row

    def group_rows(self) -> list[GroupRow]:
        """Return every group: configured ones and those the webhook has seen."""
        ids = list(self._groups) + [g for g in self.config.groups.values() if g not in self._groups]
        return [row for gid in ids if (row := self.group_row(gid)) is not None]

    async def learn_group(self, group_id: str) -> None:
        """Record a group seen in any event (the bot may have been there before the webhook was set up)."""
        if group_id not in self._groups:
            await self.note_group(group_id)
            self.hub.create_task(self.refresh_group(group_id), "line group summary")

    async def note_group(
        self,
        group_id: str,
        *,
        status: str | None = None,
        name: str | None = None,
        member_count: int | None = None,
        joined: bool = False,
    ) -> None:
        """Update a group row and the in-memory copy.

        ``status="joined"`` means pending, or active again when it has an alias.
        """
        if status == "joined":
            known = self._groups.get(group_id)
            has_alias = bool(known and known.alias) or group_id in self.config.groups.values()
            status = "active" if has_alias else "pending"
        await self.store.upsert_group(
            group_id, status=status, name=name, member_count=member_count, joined=joined
        )
        row = await self.store.group(group_id)
        if row is not None:
            self._groups[group_id] = row

    async def refresh_group(self, group_id: str) -> None:
        """Fetch a group's name and member count from LINE."""
        if not group_id.startswith("C"):
            # An alias may name a person's 1:1 chat (U…) or a room (R…): LINE has no group summary for them.
            return
        try:
            name = await self.api.group_summary(group_id)
            count = await self.api.member_count(group_id)
        except LineApiError as err:
            _LOGGER.info("LINE: cannot read group %s: %s", group_id, err)
            return
        await self.note_group(group_id, name=name, member_count=count)

    async def assign_alias(self, group_id: str, alias: str | None) -> GroupRow:
        """Give a group an alias from the UI (or remove it); raise ValueError when not allowed."""
        if group_id not in self._groups:
            raise ValueError(f"unknown group {group_id}: it must have sent an event (join) first")
        if group_id in self.config.groups.values():
            raise ValueError("this group's alias is set in config.yaml (line.groups); change it there")
        if alias is not None:
            if not ALIAS_RE.match(alias):
                raise ValueError("alias: lower-case letters, digits and _, starting with a letter (max 32)")
            taken = (await self.aliases()).get(alias)
            if taken is not None and taken != group_id:
                raise ValueError(f"alias {alias!r} is already used by another group")
        await self.store.set_alias(group_id, alias)
        await self.load_groups()
        row = self.group_row(group_id)
        assert row is not None
        return row

    # -- acknowledgements from elsewhere ---------------------------------------------------------

    def _on_incident_updated(self, event: Event) -> None:
        """Tell the LINE chats when someone outside LINE (the console, the CCOC) acknowledges."""
        if event.data.get("change") != "acknowledged" or not self.config.notify_ack:
            return
        actor = str((event.data.get("entry") or {}).get("actor") or "")
        if actor.startswith("line:"):
            return  # the LINE handler already answered in the chats
        self.hub.create_task(self._notify_ack(event.data["incident_id"], actor), "line ack notice")

    async def _notify_ack(self, incident_id: str, actor: str) -> None:
        from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
        from integrations.line.cards import drill_prefix, format_latency, short_ref

        if not await self.store.card_recipients(incident_id):
            return
        incident = await self.hub.data[INCIDENT_RUNTIME].get(incident_id, timeline=False)
        name = actor
        if actor.startswith("user:"):
            user = next((u for u in await self.hub.auth.users() if u.id == actor[5:]), None)
            name = user.username if user is not None else actor
        elif actor.startswith("station:"):
            name = f"ศูนย์ CCOC ({actor[8:]})"
        latency = (incident.acknowledged_at or self.hub.clock.time()) - incident.opened_at
        await self.handlers.notify_recipients(
            incident,
            f"{drill_prefix(incident)}✅ รับทราบโดย {name} ภายใน {format_latency(latency)}\n"
            f"{incident.title} {short_ref(incident_id)}",
            skip=None,
            context=event_context(),
        )


def event_context() -> Any:
    """Return a fresh context for work the integration starts on its own."""
    from hub.core.context import Context

    return Context(origin="line")
