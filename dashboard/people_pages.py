"""The people pages of the admin console: who signs in, with which role and clearance.

Every change goes through server/services/people.py, as the API's does, so the rules (the
password's length, the e-mail's shape, ending sessions on disable or a new password) and the
audit entries are the same whichever door a change came in by.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from dashboard.pages import Page, PageRefused, page_for, render
from server.models.people import ROLES, User, UserCreate
from server.services import people, security
from server.services.errors import DomainError

router = APIRouter(include_in_schema=False)

AdminPage = Annotated[Page, Depends(page_for(*security.ADMINS))]
CLEARANCES = tuple(people.CLEARANCE_ORDER)
# What a redirect after a change may announce (?done=KEY); anything else is not shown.
DONE = frozenset({"added", "changed", "disabled", "enabled", "password"})


def _done(page: Page) -> str | None:
    done = page.request.query_params.get("done")
    return done if done in DONE else None


def _field_errors(page: Page, exc: ValidationError) -> dict[str, str]:
    """A form's validation errors by field, in the page's words where the reason is common."""
    errors: dict[str, str] = {}
    for problem in exc.errors():
        where = str(problem["loc"][0]) if problem["loc"] else "form"
        errors.setdefault(where, page.t(f"console.invalid.{where}"))
    return errors


def _list(page: Page, *, form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
          status: int = 200) -> Response:
    everyone = people.list_users(page.session)
    signed_in = security.last_sign_ins(page.session)
    return render(page, "users.html", status=status, users=everyone, signed_in=signed_in,
                  roles=ROLES, clearances=CLEARANCES, done=_done(page),
                  form=form or {"role": "borrower"}, errors=errors or {})


@router.get("/users")
def users_page(page: AdminPage) -> Response:
    """Everyone who can sign in, and the form that adds a person."""
    return _list(page)


@router.post("/users")
def add_user(page: AdminPage, username: Annotated[str, Form(max_length=200)] = "",
             full_name: Annotated[str, Form(max_length=400)] = "",
             email: Annotated[str, Form(max_length=400)] = "",
             role: Annotated[str, Form(max_length=20)] = "",
             clearance: Annotated[str, Form(max_length=20)] = "",
             password: Annotated[str, Form(max_length=400)] = "") -> Response:
    """Add a person; on to their page (the form again, with the reason by its field)."""
    typed = {"username": username, "full_name": full_name, "email": email, "role": role,
             "clearance": clearance}
    try:
        data = UserCreate.model_validate({
            "username": username.strip(), "password": password, "role": role,
            "clearance": clearance or None, "full_name": full_name.strip() or None,
            "email": email.strip() or None})
    except ValidationError as exc:
        return _list(page, form=typed, errors=_field_errors(page, exc), status=422)
    try:
        people.create_user(page.session, **data.model_dump(), actor=page.person.username)
    except DomainError as exc:
        page.session.rollback()
        return _list(page, form=typed, errors={exc.field or "username": page.say(exc)},
                     status=409 if exc.field == "username" else 422)
    page.session.commit()
    return RedirectResponse(f"/users/{data.username}?done=added", status_code=303)


def _person(page: Page, username: str) -> User:
    found = people.get_user(page.session, username)
    if found is None:
        raise PageRefused("not_found", message=page.t("console.no_user", name=username))
    return found


def _one(page: Page, person: User, *, form: dict[str, Any] | None = None,
         errors: dict[str, str] | None = None, status: int = 200) -> Response:
    shown = form or {"role": person.role, "clearance": person.clearance,
                     "email": person.email or ""}
    return render(page, "user.html", status=status, person=person, roles=ROLES,
                  clearances=CLEARANCES, form=shown, errors=errors or {}, done=_done(page),
                  signed_in=security.last_sign_ins(page.session).get(person.id or 0),
                  live_sessions=security.live_sessions(page.session, person))


@router.get("/users/{username}")
def user_page(username: str, page: AdminPage) -> Response:
    """One person: their role, clearance and e-mail to change, and their standing."""
    return _one(page, _person(page, username))


def _change(page: Page, username: str, done: str, form: dict[str, Any] | None = None,
            **change: Any) -> Response:
    """Apply one change through the service; back to the person's page, or the reason."""
    person = _person(page, username)
    try:
        people.change_user(page.session, username, actor=page.person.username, **change)
    except DomainError as exc:
        page.session.rollback()
        return _one(page, _person(page, username), form=form,
                    errors={exc.field or "form": page.say(exc)}, status=422)
    page.session.commit()
    return RedirectResponse(f"/users/{person.username}?done={done}", status_code=303)


@router.post("/users/{username}")
def change_user(username: str, page: AdminPage, role: Annotated[str, Form(max_length=20)],
                clearance: Annotated[str, Form(max_length=20)],
                email: Annotated[str, Form(max_length=400)] = "") -> Response:
    """Change a person's role, clearance and e-mail (an empty e-mail clears it)."""
    typed = {"role": role, "clearance": clearance, "email": email}
    return _change(page, username, "changed", typed, role=role, clearance=clearance,
                   email=email.strip() or None, clear_email=not email.strip())


@router.post("/users/{username}/disable")
def disable_user(username: str, page: AdminPage) -> Response:
    """Disable a person: they cannot sign in, and their sessions end at once."""
    return _change(page, username, "disabled", disabled=True)


@router.post("/users/{username}/enable")
def enable_user(username: str, page: AdminPage) -> Response:
    """Let a disabled person sign in again."""
    return _change(page, username, "enabled", disabled=False)


@router.post("/users/{username}/password")
def reset_password(username: str, page: AdminPage,
                   password: Annotated[str, Form(max_length=400)] = "") -> Response:
    """Give a person the password the admin typed; their sessions end at once."""
    if len(password) > 200:  # the API's limit (UserUpdate); the service checks the least
        person = _person(page, username)
        return _one(page, person, errors={"password": page.t("console.invalid.password")},
                    status=422)
    return _change(page, username, "password", password=password)
