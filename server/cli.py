"""`archive-twin …`: init, serve, demo, users add, audit verify, labels epc."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import socket
import sys

from sqlmodel import Session

from server.db import make_engine, migrate, session_scope
from server.settings import Settings, UnsafeSettings

log = logging.getLogger(__name__)

DEMO_USERS = (
    ("admin", "admin", "admin-demo-pw"),
    ("archivist", "archivist", "archivist-demo-pw"),
    ("staff", "staff", "staff-demo-pw"),
    ("facilities", "facilities", "facilities-demo-pw"),
    ("borrower", "borrower", "borrower-demo-pw"),
)


def _password(given: str | None, prompt: str) -> str:
    if given:
        return given
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("again: ") != first:
            raise SystemExit("the two passwords differ; nothing was changed")
        return first
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise SystemExit("no password on standard input; nothing was changed")
    return line


def cmd_init(args: argparse.Namespace, settings: Settings) -> int:
    """Create or migrate the database; create the first admin when asked."""
    from server.services import people

    migrate(settings.db_url)
    print(f"database ready: {_safe_url(settings.db_url)}")
    if args.admin:
        engine = make_engine(settings.db_url)
        with session_scope(engine) as session:
            if people.get_user(session, args.admin):
                print(f"user {args.admin} exists already; left as it was")
            else:
                people.create_user(session, username=args.admin, role="admin",
                                   password=_password(args.password, f"password for {args.admin}: "))
                print(f"admin {args.admin} created")
    return 0


def cmd_users_add(args: argparse.Namespace, settings: Settings) -> int:
    """Add a person with a role (and clearance)."""
    from server.services import people
    from server.services.errors import DomainError

    engine = make_engine(settings.db_url)
    try:
        with session_scope(engine) as session:
            people.create_user(session, username=args.username, role=args.role,
                               clearance=args.clearance, full_name=args.full_name,
                               password=_password(args.password, f"password for {args.username}: "))
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    print(f"user {args.username} added as {args.role}")
    return 0


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Walk the audit chain; exit 1 at the first altered or removed entry."""
    from server.services import audit

    with Session(make_engine(settings.db_url)) as session:
        checked, broken = audit.verify(session)
    if broken:
        print(f"audit log BROKEN at entry {broken.entry_id}: {broken.reason} "
              f"({checked} entries before it hold)")
        return 1
    print(f"audit log intact: {checked} entries verified")
    return 0


def cmd_labels_epc(args: argparse.Namespace, settings: Settings) -> int:
    """Print every form of one identifier."""
    from labels.identifiers import InvalidIdentifier, all_forms, identify

    try:
        found = identify(args.identifier, company_prefix=settings.epc_company_prefix,
                         site_number=settings.site_number)
        if found is None:
            raise InvalidIdentifier(
                f"{args.identifier!r} is not a box or location code, QR URL or EPC"
            )
        forms = all_forms(found.code, company_prefix=settings.epc_company_prefix,
                          base_url=settings.base_url, site_number=settings.site_number)
    except InvalidIdentifier as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"kind         {found.kind}")
    for name, value in forms.items():
        print(f"{name:<12} {value}")
    return 0


def cmd_labels_print(args: argparse.Namespace, settings: Settings) -> int:
    """Render labels for codes or a range into one PDF or ZPL file, with progress."""
    from labels.render import render
    from server.services import labelling
    from server.services.codes import CodeScheme
    from server.services.errors import DomainError

    scheme = CodeScheme(settings.epc_company_prefix, settings.site_number, settings.base_url)
    try:
        codes = list(args.codes)
        if args.range:
            first, _, last = args.range.partition("-")
            codes += labelling.expand_range(first, last or first)
        with Session(make_engine(settings.db_url)) as session:
            found = labelling.labels_for(session, codes, scheme=scheme, clearance="secret")
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2

    def progress(done: int, total: int) -> None:
        width = 30
        filled = width * done // total
        print(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{total} labels",
              end="" if done < total else "\n", file=sys.stderr, flush=True)

    options = {"dpi": args.dpi, "rfid": not args.no_rfid} if args.format == "zpl" else {
        "on_progress": progress}
    try:
        body = render(found, output=args.format, layout=args.layout, **options)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with open(args.out, "wb") as out:
        out.write(body)
    print(f"{len(found)} labels written to {args.out} ({len(body):,} bytes)")
    return 0


def _free_port(host: str, wanted: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind((host, wanted))
            return wanted
        except OSError:
            probe.bind((host, 0))
            return probe.getsockname()[1]


def _serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    if workers > 1:
        # Each worker builds its app from the environment.
        uvicorn.run("server.app:app_from_env", factory=True, host=host, port=port,
                    workers=workers, log_level="info")
        return
    from server.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the server against the configured database and broker."""
    try:
        settings.check_safe_to_serve()
    except UnsafeSettings as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    migrate(settings.db_url)
    _serve(settings, args.host, args.port, args.workers)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Run the whole system on embedded defaults with a sample archive and demo logins."""
    from server.services import people, sample_archive
    from server.services.codes import CodeScheme

    port = _free_port(args.host, args.port)
    base = f"http://{args.host}:{port}"
    settings = settings.model_copy(update={
        "demo": True, "base_url": os.environ.get("ARCHIVE_TWIN_BASE_URL", base),
        "secret_key": settings.secret_key if settings.secret_key != "change-me"
        else "demo-only-secret-key-not-for-real-data", "simulate": True,
    })
    migrate(settings.db_url)
    engine = make_engine(settings.db_url)
    with session_scope(engine) as session:
        if sample_archive.is_empty(session):
            print("seeding a sample archive (two rooms of compact shelving)…", flush=True)
            scheme = CodeScheme(settings.epc_company_prefix, settings.site_number, settings.base_url)
            counts = sample_archive.seed(session, scheme=scheme)
            print(f"  {counts['locations']} locations, {counts['boxes']} boxes, "
                  f"{counts['records']} records")
        for username, role, password in DEMO_USERS:
            if not people.get_user(session, username):
                people.create_user(session, username=username, role=role, password=password)
    engine.dispose()
    print()
    print(f"archive-twin demo on {base}")
    print(f"  dashboard   {base}/")
    print(f"  API docs    {base}/docs")
    print(f"  database    {_safe_url(settings.db_url)}")
    print("  sign in as (username / password):")
    for username, role, password in DEMO_USERS:
        print(f"    {username:<11} / {password:<20} ({role})")
    print("  stop with Ctrl+C", flush=True)
    _serve(settings, args.host, port)
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def build_parser() -> argparse.ArgumentParser:
    """The command line's verbs and options."""
    parser = argparse.ArgumentParser(prog="archive-twin", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    verbs = parser.add_subparsers(dest="verb", required=True)

    p = verbs.add_parser("init", help="create or migrate the database; create the first admin")
    p.add_argument("--admin", metavar="USERNAME", help="create this admin if missing")
    p.add_argument("--password", help="the admin's password (default: read from stdin)")
    p.set_defaults(run=cmd_init)

    p = verbs.add_parser("serve", help="run the server (settings from ARCHIVE_TWIN_*)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    p.set_defaults(run=cmd_serve)

    p = verbs.add_parser("demo", help="run the whole system on embedded defaults")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(run=cmd_demo)

    users = verbs.add_parser("users", help="people who sign in").add_subparsers(
        dest="users_verb", required=True)
    p = users.add_parser("add", help="add a person")
    p.add_argument("username")
    p.add_argument("--role", required=True,
                   choices=["admin", "archivist", "staff", "facilities", "borrower"])
    p.add_argument("--clearance", choices=["public", "internal", "confidential", "secret"])
    p.add_argument("--full-name")
    p.add_argument("--password", help="default: read one line from standard input")
    p.set_defaults(run=cmd_users_add)

    audit = verbs.add_parser("audit", help="the audit log").add_subparsers(
        dest="audit_verb", required=True)
    p = audit.add_parser("verify", help="check the hash chain; exit 1 when broken")
    p.set_defaults(run=cmd_audit_verify)

    labels = verbs.add_parser("labels", help="identifiers and labels").add_subparsers(
        dest="labels_verb", required=True)
    p = labels.add_parser("epc", help="print every form of one identifier")
    p.add_argument("identifier", help="a code, QR URL, EPC hex or EPC URI")
    p.set_defaults(run=cmd_labels_epc)
    p = labels.add_parser("print", help="labels for codes or a range, as one PDF or ZPL file")
    p.add_argument("codes", nargs="*", help="box or location codes")
    p.add_argument("--range", metavar="FIRST-LAST", help="e.g. B00000001-B00000100")
    p.add_argument("--format", choices=["pdf", "zpl"], default="pdf")
    p.add_argument("--layout", help="a4-3x8 (default for PDF), a4-2x7, a4-2x4, 100x50, 60x40")
    p.add_argument("--dpi", type=int, choices=[203, 300], default=203, help="ZPL resolution")
    p.add_argument("--no-rfid", action="store_true", help="ZPL without writing the tags")
    p.add_argument("--out", "-o", required=True, help="file to write")
    p.set_defaults(run=cmd_labels_print)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `archive-twin` command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings()
    except ValueError as exc:
        print(f"error in the ARCHIVE_TWIN_* settings: {exc}", file=sys.stderr)
        return 2
    return args.run(args, settings)


if __name__ == "__main__":
    sys.exit(main())
