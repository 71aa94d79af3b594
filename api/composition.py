"""The composition root of the use cases: each service is built once here, handed the few adapters
(and other services) it uses, and nothing is set on it afterwards.

`api.app` builds the adapters and these services at start; routers ask for the one service they
call (`api.deps`); `api.jobs_setup` registers the job handlers built here with the job system.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from jobs.exports.passwords import HeldPasswords
from storage.kv.base import KeyValue
from storage.sql.database import Database

from .adapters import Adapters
from .payments import Payments
from .security.authenticator import Authenticator
from .services.access_changes import AccessChanges, Recheck
from .services.accounts import Accounts
from .services.admin import Admin
from .services.ai_tasks import AiTasks
from .services.authorship import Authorship
from .services.chapters import Chapters
from .services.comments import Comments
from .services.download_links import DownloadLinks
from .services.exports import Exports
from .services.imports import Imports
from .services.invitations import Invitations
from .services.membership import Membership, plan_table
from .services.moderation_words import WordList
from .services.notifications import Notifications, Notifier
from .services.orders import Orders
from .services.publication import PublicationGate
from .services.report_targets import targets_with_comments
from .services.reports import Reports
from .services.version_changes import VersionChanges
from .services.works import Works
from .settings import Settings

if TYPE_CHECKING:
    from .services.oidc import OidcSignIn


@dataclass(frozen=True, slots=True)
class Services:
    authenticator: Authenticator
    accounts: Accounts
    oidc_sign_in: Callable[[], OidcSignIn]
    """A sign-in flow; raises a clear error when OpenID Connect is not configured."""
    admin: Admin
    works: Works
    chapters: Chapters
    notifier: Notifier
    notifications: Notifications
    membership: Membership
    orders: Orders
    exports: Exports
    download_links: DownloadLinks
    imports: Imports
    ai_tasks: AiTasks
    comments: Comments
    authorship: Authorship
    version_changes: VersionChanges
    reports: Reports
    word_list: WordList
    publication: PublicationGate


def build_services(adapters: Adapters, *, recheck_sockets: Recheck) -> Services:
    """`recheck_sockets`: re-authorize a user's open sync sockets on this node now (the sync
    endpoint's `recheck`; `access_changes.no_sockets` where there are none)."""
    a = adapters
    settings = a.settings
    notifier = Notifier(a.database, a.bus, a.mailer, settings)
    invitations = Invitations(a.database, notifier, settings.public_url)
    access = AccessChanges(a.bus, recheck_sockets)
    accounts = Accounts(a.database, a.kv, a.tokens, a.mailer, settings, invitations, access)
    admin = Admin(a.database, access)
    comments = Comments(a.database, a.rooms, notifier)
    authorship = Authorship(a.database, a.rooms)
    targets = targets_with_comments(comments)
    reports = Reports(a.database, a.kv, notifier, admin, settings.reports_per_hour, targets)
    return Services(
        authenticator=Authenticator(a.tokens, a.database),
        accounts=accounts,
        oidc_sign_in=partial(_oidc_sign_in, a.database, a.kv, settings, accounts),
        admin=admin,
        works=Works(
            database=a.database,
            quotas=a.quotas,
            notifier=notifier,
            access=access,
            invitations=invitations,
        ),
        chapters=Chapters(a.database, a.store, a.rooms, access),
        notifier=notifier,
        notifications=Notifications(a.database),
        membership=Membership(a.database, a.quotas, plan_table(settings)),
        orders=Orders(a.database, settings, Payments(settings)),
        exports=Exports(
            a.database,
            a.quotas,
            a.tasks,
            a.runner,
            passwords=HeldPasswords() if _jobs_here(settings) else None,
            watermark_levels=frozenset(settings.export_watermark_levels),
        ),
        download_links=DownloadLinks(
            a.blobs, settings.resolved_secret_key(), settings.download_link_ttl_s, a.database
        ),
        imports=Imports(a.database, a.quotas, a.tasks, a.runner, a.blobs),
        ai_tasks=AiTasks(
            database=a.database,
            quotas=a.quotas,
            tasks=a.tasks,
            runner=a.runner,
            rooms=a.rooms,
            ai=a.ai,
            safety=a.safety,
        ),
        comments=comments,
        authorship=authorship,
        version_changes=VersionChanges(a.database, a.store, authorship),
        reports=reports,
        word_list=WordList(a.database, a.bus, a.safety),
        publication=PublicationGate(a.moderator, reports),
    )


def _jobs_here(settings: Settings) -> bool:
    """Whether the export jobs run in this process: the in-process broker, whose jobs run in
    `inkweave serve` unless INKWEAVE_JOBS_IN_PROCESS turns them off."""
    stub = not settings.redis_url and not settings.rabbitmq_url
    return stub and settings.jobs_in_process is not False


def _oidc_sign_in(
    database: Database, kv: KeyValue, settings: Settings, accounts: Accounts
) -> OidcSignIn:
    # httpx and Authlib load at the first OpenID Connect sign-in, not with every server.
    from .services.oidc import OidcSignIn

    return OidcSignIn(database, kv, settings, accounts)
