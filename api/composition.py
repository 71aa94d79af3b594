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

from storage.kv.base import KeyValue
from storage.sql.database import Database

from .adapters import Adapters
from .payments import Payments
from .security.authenticator import Authenticator
from .services.access_changes import AccessChanges, Recheck
from .services.accounts import Accounts
from .services.admin import Admin
from .services.ai_tasks import AiTasks
from .services.chapters import Chapters
from .services.download_links import DownloadLinks
from .services.exports import Exports
from .services.imports import Imports
from .services.invitations import Invitations
from .services.membership import Membership, plan_table
from .services.notifications import Notifications, Notifier
from .services.orders import Orders
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


def build_services(adapters: Adapters, *, recheck_sockets: Recheck) -> Services:
    """`recheck_sockets`: re-authorize a user's open sync sockets on this node now (the sync
    endpoint's `recheck`; `access_changes.no_sockets` where there are none)."""
    a = adapters
    settings = a.settings
    notifier = Notifier(a.database, a.bus, a.mailer, settings)
    invitations = Invitations(a.database, notifier, settings.public_url)
    access = AccessChanges(a.bus, recheck_sockets)
    accounts = Accounts(a.database, a.kv, a.tokens, a.mailer, settings, invitations, access)
    return Services(
        authenticator=Authenticator(a.tokens, a.database),
        accounts=accounts,
        oidc_sign_in=partial(_oidc_sign_in, a.database, a.kv, settings, accounts),
        admin=Admin(a.database, access),
        works=Works(
            database=a.database,
            quotas=a.quotas,
            notifier=notifier,
            access=access,
            invitations=invitations,
        ),
        chapters=Chapters(a.database, a.store, a.rooms),
        notifier=notifier,
        notifications=Notifications(a.database),
        membership=Membership(a.database, a.quotas, plan_table(settings)),
        orders=Orders(a.database, settings, Payments(settings)),
        exports=Exports(a.database, a.quotas, a.tasks, a.runner),
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
    )


def _oidc_sign_in(
    database: Database, kv: KeyValue, settings: Settings, accounts: Accounts
) -> OidcSignIn:
    # httpx and Authlib load at the first OpenID Connect sign-in, not with every server.
    from .services.oidc import OidcSignIn

    return OidcSignIn(database, kv, settings, accounts)
