"""What a token obtained by delegation may delegate further, as in Keystone.

A token comes from a user's own secret (password, or the token method on such
a token), from an application credential, or from a trust.  The last two are
delegations, bound to one project and a subset of roles; letting them make new
delegations freely would let a stolen or narrowed credential outlive or outgrow
what it was given.  The rules, per kind of token:

==========================  ============================  ============================
token from                  a new application credential   a new trust
==========================  ============================  ============================
the user's own secret       yes                            yes
restricted app credential   no (403)                       no (403)
unrestricted app credential yes, with no role its token    no (403, CVE-2026-43000)
                            lacks
a trust                     no (403), nor see any          only by redelegating that
                                                           trust (trusts.py)
==========================  ============================  ============================

Whatever the token, a new delegation carries none of the roles its token lacks
(credentials.py, trusts.py).  Rescoping with the token method is ruled by
authentication.py: neither delegated kind chooses its own scope.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from stacklet.common.context import RequestContext
from stacklet.identity.models import ApplicationCredential
from stacklet.identity.records import forbidden_action


def check_may_use_trusts(ctx: RequestContext) -> None:
    """An application credential token, restricted or not, cannot read or manage
    trusts: it is bound to one project, and the trust chain would take it further."""
    if ctx.application_credential_id is not None:
        raise forbidden_action("Using method 'application_credential' is not allowed for "
                               "managing trusts")


def check_may_see_application_credentials(ctx: RequestContext) -> None:
    """A trust-scoped token cannot read or manage application credentials or their
    access rules: one made with it would outlive the trust, and its tokens would no
    longer say they came from one."""
    if ctx.trust_id is not None:
        raise forbidden_action("Cannot manage application credentials with a token issued "
                               "via delegation")


def check_may_change_application_credentials(session: Session, ctx: RequestContext) -> None:
    """Creating or deleting application credentials: not with a trust-scoped token,
    nor with a token from a restricted application credential, which could otherwise
    mint itself a longer-lived one."""
    check_may_see_application_credentials(ctx)
    if ctx.application_credential_id is None:
        return
    app_cred = session.get(ApplicationCredential, ctx.application_credential_id)
    if app_cred is None or not app_cred.unrestricted:
        raise forbidden_action("Using method 'application_credential' is not allowed for "
                               "managing additional application credentials")
